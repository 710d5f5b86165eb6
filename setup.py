"""Build step pyproject.toml cannot declare: compile the cffi binding ``proton_ext._cproton``.

The project's metadata lives in pyproject.toml; ``cffi_modules`` is a setup() keyword only.
"""

from setuptools import setup

setup(cffi_modules=["proton_ext/build.py:ffibuilder"])
