"""Run a program written for python-qpid-proton, unmodified, on amq_python.

``python -m amq_python.compat PROGRAM.py [ARGS...]`` (or ``-m MODULE``) runs the program with
``import proton`` (and ``proton.reactor``, ``proton.handlers``, ``proton.utils`` and the private
``proton._xxx`` modules that have an equivalent here) resolved to amq_python.

How it works:
1. ``install()`` puts an :class:`AliasFinder` first on ``sys.meta_path``. For a ``proton`` name
   it answers with a spec whose loader hands back the amq_python module itself: ``proton`` *is*
   ``amq_python`` (one module object, so ``proton.Message is amq_python.Message`` and
   ``isinstance`` works across both spellings). Python's import machinery sets ``__spec__`` on
   the module it loads; the loader puts amq_python's own back, so amq_python is not changed.
2. A ``proton`` name with no equivalent here (``proton._io``, ``proton._tracing``, ...)
   fails with ``ModuleNotFoundError`` naming amq_python, instead of reaching the real
   python-qpid-proton if it is also installed: mixing both in one program never works.
3. ``install()`` also makes ``Container.connect()`` lenient: an unknown keyword (which
   python-qpid-proton silently ignores) gets one warning naming it, not a TypeError.
4. ``main()`` sets ``sys.argv`` to the program's and runs it with ``runpy`` as ``__main__``,
   with the program's directory as ``sys.path[0]`` (in place of the current directory that
   ``-m`` put there), as ``python PROGRAM.py`` would have it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
from collections.abc import Sequence
from types import ModuleType

# python-qpid-proton's module -> ours. Its private modules map to ours holding the same classes.
ALIASES: dict[str, str] = {
    "proton": "amq_python",
    "proton.reactor": "amq_python.reactor",
    "proton.handlers": "amq_python.handlers",
    "proton.utils": "amq_python.utils",
    "proton.tracing": "amq_python.tracing",
    "proton._condition": "amq_python._core._condition",
    "proton._data": "amq_python._core._codec",
    "proton._delivery": "amq_python._core._delivery",
    "proton._endpoints": "amq_python._core._endpoints",
    "proton._events": "amq_python._core._events",
    "proton._exceptions": "amq_python._core._exceptions",
    "proton._handler": "amq_python._core._events",
    "proton._handlers": "amq_python.handlers",
    "proton._message": "amq_python._core._message",
    "proton._reactor": "amq_python.reactor",
    "proton._selectable": "amq_python._reactor._selectable",
    "proton._transport": "amq_python._core._transport",
    "proton._url": "amq_python._core._url",
    "proton._utils": "amq_python.utils",
}

USAGE = "usage: python -m amq_python.compat PROGRAM.py [ARGS...] | -m MODULE [ARGS...]"


class _AliasLoader(importlib.abc.Loader):
    """Loads a ``proton`` name as the already-imported amq_python module ``target``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        """The amq_python module itself (imported now if it was not yet)."""
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run (the module is loaded); undo the import system's ``__spec__``."""
        module.__spec__ = self._spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``proton`` and its submodules to amq_python (see the module docstring)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec aliasing ``fullname`` to amq_python; None for names outside ``proton``."""
        if fullname != "proton" and not fullname.startswith("proton."):
            return None
        ours = ALIASES.get(fullname)
        if ours is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: amq_python has no equivalent of this "
                "python-qpid-proton module (its public API is in proton, proton.reactor, "
                "proton.handlers and proton.utils)",
                name=fullname,
            )
        is_package = fullname == "proton"
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(ours), is_package=is_package
        )


def install() -> AliasFinder:
    """Put the alias finder first on ``sys.meta_path`` (once) and return it.

    Fails if the real python-qpid-proton was already imported in this process: its classes and
    ours must not meet in one program. From then on ``connect()`` warns about (once each) and
    ignores keywords it does not know, as python-qpid-proton ignores them, instead of raising.
    """
    for finder in sys.meta_path:
        if isinstance(finder, AliasFinder):
            return finder
    real = sys.modules.get("proton")
    if real is not None and not real.__name__.startswith("amq_python"):
        raise RuntimeError(
            "python-qpid-proton is already imported in this process; install the amq_python "
            "compat finder before anything imports proton"
        )
    finder = AliasFinder()
    sys.meta_path.insert(0, finder)
    from ._reactor import _container

    _container.LENIENT_OPTIONS = True
    return finder


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``PROGRAM.py ARGS`` (or ``-m MODULE ARGS``) with proton resolved to amq_python."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not args else sys.stdout)
        raise SystemExit(2 if not args else 0)
    install()
    if args[0] == "-m":
        if len(args) < 2:
            print(USAGE, file=sys.stderr)
            raise SystemExit(2)
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return
    program = args[0]
    if not os.path.exists(program):
        print(f"amq_python.compat: cannot find the program {program!r}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = args
    sys.path[0] = os.path.dirname(os.path.abspath(program))
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
