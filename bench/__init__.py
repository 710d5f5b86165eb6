"""Side-by-side benchmarks of amq_python and python-qpid-proton (see bench/README.md)."""
