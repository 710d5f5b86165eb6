"""Packaging for amq_python and its compiled binding proton_ext (cffi API mode)."""

from setuptools import setup

setup(
    name="amq_python",
    version="0.1.0",
    description="AMQP 1.0 messaging: the python-qpid-proton API over the Proton C engine",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=[
        "amq_python", "amq_python.aio", "amq_python.broker", "amq_python.tools", "proton_ext"
    ],
    package_data={"amq_python": ["py.typed"], "proton_ext": ["cdef/*.h", "csrc/*.c", "csrc/*.h"]},
    setup_requires=["cffi>=1.15"],
    install_requires=["cffi>=1.15"],
    cffi_modules=["proton_ext/build.py:ffibuilder"],
    entry_points={
        "console_scripts": [
            "amq-broker = amq_python.broker.cli:main",
            "amq-send = amq_python.tools.send:main",
            "amq-receive = amq_python.tools.receive:main",
        ]
    },
    zip_safe=False,
)
