"""Build the ``proton_ext._cproton`` extension: cffi, API mode, out of line.

How the build goes:
1. ``find_libraries()`` asks pkg-config for Qpid Proton and Cyrus SASL. When either is
   missing it raises ``MissingLibraryError`` with one message naming the packages to install.
2. The engine library, ``libqpid-proton-core``, is linked directly: Debian ships only
   ``libqpid-proton.pc`` (engine plus C proactor), with the core library beside it.
3. Every ``cdef/*.h`` (one topic each, read in sorted order) goes to one ``FFI``; every
   ``csrc/*.c`` (our own C, such as the Cyrus SASL bridge) is compiled into the module.

``setup.py`` names ``ffibuilder`` in ``cffi_modules``;
``python proton_ext/build.py`` builds in place.
"""

import glob
import os
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from cffi import FFI

HERE = Path(__file__).resolve().parent

MISSING_MESSAGE = """\
proton_ext cannot be built: {what} not found by pkg-config.
Install the development packages, then build again:
  Debian/Ubuntu:  apt-get install libqpid-proton11-dev libsasl2-dev pkg-config
  RHEL/Fedora:    dnf install qpid-proton-c-devel cyrus-sasl-devel pkgconf-pkg-config
(If they are installed in a non-standard place, set PKG_CONFIG_PATH.)"""

PREAMBLE = """
#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/error.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/sasl.h>
#include <proton/sasl_plugin.h>
#include <proton/session.h>
#include <proton/ssl.h>
#include <proton/terminus.h>
#include <proton/transport.h>
#include <sasl/sasl.h>

/* Calls into the engine keep the GIL: they take well under a microsecond, and releasing and
   taking back the GIL around each (cffi's default) costs more than the call. The calls that
   may run TLS or SASL work (a Kerberos exchange can wait on the network) are made through the
   amqx_*_unlocked functions of csrc/unlocked.c, which release it themselves. errno is not
   read after engine calls (ffi.errno is unused), so cffi need not save it either. */
#undef Py_BEGIN_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#undef Py_END_ALLOW_THREADS
#define Py_END_ALLOW_THREADS }
#undef _cffi_restore_errno
#define _cffi_restore_errno() ((void)0)
#undef _cffi_save_errno
#define _cffi_save_errno() ((void)0)
"""


class MissingLibraryError(RuntimeError):
    """A C library the binding needs is not installed; the message names the packages."""


@dataclass
class LibraryConfig:
    """Where the compiler and linker find Qpid Proton's engine and Cyrus SASL."""

    include_dirs: list[str] = field(default_factory=list)
    library_dirs: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    extra_link_args: list[str] = field(default_factory=list)


def _pkg_config(package: str, *flags: str) -> Optional[list[str]]:
    """Run pkg-config for one package; None when pkg-config or the package is missing."""
    try:
        result = subprocess.run(
            ["pkg-config", *flags, package], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    if result.returncode != 0:
        return None
    return shlex.split(result.stdout)


def _compiler_dir_of(filename: str) -> list[str]:
    """The directory where the C compiler finds a library file, if it finds it."""
    compiler = os.environ.get("CC", "cc").split()[0]
    try:
        found = subprocess.run(
            [compiler, f"-print-file-name={filename}"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except FileNotFoundError:
        return []
    return [os.path.dirname(found)] if os.path.isabs(found) else []


def _engine_link_args(library_dirs: list[str]) -> list[str]:
    """Link the engine-only library by file name when no unversioned symlink exists."""
    for directory in [*library_dirs, *_compiler_dir_of("libqpid-proton.so")]:
        if os.path.exists(os.path.join(directory, "libqpid-proton-core.so")):
            return ["-lqpid-proton-core"]
        versioned = sorted(glob.glob(os.path.join(directory, "libqpid-proton-core.so.*")), key=len)
        if versioned:
            return ["-l:" + os.path.basename(versioned[0])]
    return ["-lqpid-proton"]


def find_libraries() -> LibraryConfig:
    """Locate both libraries with pkg-config, or raise MissingLibraryError naming the fix."""
    missing = []
    proton = _pkg_config("libqpid-proton-core", "--cflags", "--libs")
    if proton is None:
        proton = _pkg_config("libqpid-proton", "--cflags", "--libs")
    if proton is None:
        missing.append("Qpid Proton (libqpid-proton)")
    sasl = _pkg_config("libsasl2", "--cflags", "--libs")
    if sasl is None:
        missing.append("Cyrus SASL (libsasl2)")
    if missing:
        raise MissingLibraryError(MISSING_MESSAGE.format(what=" and ".join(missing)))
    assert proton is not None and sasl is not None
    config = LibraryConfig()
    for flag in proton + sasl:
        if flag.startswith("-I"):
            config.include_dirs.append(flag[2:])
        elif flag.startswith("-L"):
            config.library_dirs.append(os.path.normpath(flag[2:]))
    config.extra_link_args = _engine_link_args(config.library_dirs)
    config.libraries = ["sasl2"]
    return config


def make_ffibuilder() -> FFI:
    """One FFI from every cdef header, with our C sources compiled in."""
    config = find_libraries()
    builder = FFI()
    for header in sorted((HERE / "cdef").glob("*.h")):
        builder.cdef(header.read_text())
    sources = sorted(str(path.relative_to(HERE.parent)) for path in (HERE / "csrc").glob("*.c"))
    local_headers = "".join(
        f'#include "{path.name}"\n' for path in sorted((HERE / "csrc").glob("*.h"))
    )
    builder.set_source(
        "proton_ext._cproton",
        PREAMBLE + local_headers,
        sources=sources,
        include_dirs=[str(HERE / "csrc"), *config.include_dirs],
        library_dirs=config.library_dirs,
        libraries=config.libraries,
        extra_link_args=config.extra_link_args,
        extra_compile_args=["-O2", "-Wall"],
    )
    return builder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    os.chdir(HERE.parent)
    ffibuilder.compile(verbose=False)
