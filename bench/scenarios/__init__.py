"""Benchmark scenarios: each module is a process role run with ``python -m bench.scenarios.X``.

Kept free of imports so that ``startup`` measures a fresh interpreter.
"""
