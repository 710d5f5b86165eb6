"""API parity with python-qpid-proton 0.40, module by module.

For ``proton``, ``proton.reactor``, ``proton.handlers`` and ``proton.utils`` against
``amq_python`` and its ``reactor``, ``handlers`` and ``utils``:

- every public name exists;
- a class keeps proton's public base classes (``LinkDetached`` is a ``LinkException``);
- a class has every public method, property and attribute of proton's class (looked up on the
  class, or on an instance where one can be made without a peer);
- a function, constructor or method has the same parameters: names, kinds and defaults
  (annotations are not compared);
- a property stays a property and a method stays a method.

Every difference found is a key (``"missing proton.reactor.Transaction"``,
``"signature proton.Transport.push"``, ...). ``ALLOWED`` lists the known ones, each with its
reason, in one place: the test fails on any difference not listed, and on a listed one that is
gone (so the list only shrinks).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

MODULES = [
    ("proton", "amq_python"),
    ("proton.reactor", "amq_python.reactor"),
    ("proton.handlers", "amq_python.handlers"),
    ("proton.utils", "amq_python.utils"),
]

# Public-looking names of proton's that are its implementation, not its API.
NOT_API = {
    "proton.log": "proton's module logger object; ours logs to logging.getLogger('amq_python')",
    "proton.handler": "the logging.NullHandler proton attaches to its logger at import",
    "proton.logconfigfile": "the PNPY_LOGGER_CONFIG value proton read at import",
}

# Known differences, each with its reason. Keep sorted; remove an entry once it is fixed.
ALLOWED: dict[str, str] = {
    "bases proton.reactor.ApplicationEvent": "ours derives from Event (so it has every Event "
    "attribute); proton's from its private EventBase",
    "signature proton.Delivery": "constructed by the library only; ours also takes the link",
    "signature proton.Disposition": "constructed by the library only; ours also takes the "
    "delivery",
    "signature proton.Event": "proton's takes a C event; ours (type, context, container) is "
    "what the container and ApplicationEvent need",
    "signature proton.Terminus": "constructed by the library only; ours also takes the link",
    "signature proton.reactor.Backoff": "proton's takes **kwargs it ignores; ours names its "
    "options (initial, factor, max_delay, max_tries, jitter). Ours also gives one delay per "
    "attempt (a list given as reconnect= too), not one per pass over the URL list, and "
    "starts over for each outage (tests/test_parity_connecting.py)",
    "signature proton.reactor.Container.create_sender": "ours adds keyword-only "
    "resend_unsettled and max_unsettled (at-least-once across reconnects; off by default)",
}

_SIMPLE = (type(None), bool, int, float, str, bytes)


def _instances(module: ModuleType) -> dict[str, Callable[[], Any]]:
    """How to make an instance of some classes without a peer, to find their instance
    attributes (set in ``__init__``, so not visible on the class)."""
    return {
        "Event": lambda: module.Event(module.Event.REACTOR_INIT),
        "Url": lambda: module.Url("amqp://user@host:5672/path"),
        "ApplicationEvent": lambda: module.ApplicationEvent("app"),
    }


def public_names(module: ModuleType) -> list[str]:
    """``__all__`` plus any other public, non-module attribute."""
    names = set(getattr(module, "__all__", ()))
    names.update(
        name
        for name in dir(module)
        if not name.startswith("_") and not inspect.ismodule(getattr(module, name))
    )
    return sorted(names)


def _default(value: Any) -> str:
    """A default as compared: builtin-typed values by repr, other objects by type name."""
    if value is inspect.Parameter.empty:
        return "<required>"
    if type(value) in _SIMPLE:
        return repr(value)
    return type(value).__name__


def signature(obj: Any) -> tuple[tuple[str, str, str], ...] | None:
    """(name, kind, default) of each parameter, or None when there is no signature."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return tuple((p.name, p.kind.name, _default(p.default)) for p in sig.parameters.values())


def _make(factories: dict[str, Callable[[], Any]], name: str, cls: type) -> Any:
    """An instance of ``cls``, or else of its nearest base class that can be made without
    arguments (its ``__init__`` sets the attributes ``cls`` inherits), or None."""
    factory = factories.get(name)
    if factory is not None:
        return factory()
    for base in cls.__mro__[:-1]:
        try:
            return base()
        except Exception:
            continue
    return None


def _is_method(value: Any) -> bool:
    return inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod))


def compare_class(
    key: str, ours: type, theirs: type, instance: Any, public: set[str]
) -> dict[str, str]:
    """The differences between one of proton's classes and ours."""
    found: dict[str, str] = {}
    theirs_sig, ours_sig = signature(theirs), signature(ours)
    if theirs_sig is not None and theirs_sig != ours_sig:
        found[f"signature {key}"] = f"{theirs_sig} != {ours_sig}"
    their_bases = [c.__name__ for c in theirs.__mro__[1:] if c.__name__ in public]
    our_bases = [c.__name__ for c in ours.__mro__[1:] if c.__name__ in public]
    if their_bases != our_bases:
        found[f"bases {key}"] = f"{their_bases} != {our_bases}"
    for member in dir(theirs):
        if member.startswith("_"):
            continue
        if not hasattr(ours, member) and not hasattr(instance, member):
            found[f"missing {key}.{member}"] = ""
            continue
        their_static = inspect.getattr_static(theirs, member)
        try:
            our_static = inspect.getattr_static(ours, member)
        except AttributeError:
            continue
        if isinstance(their_static, property) and _is_method(our_static):
            found[f"kind {key}.{member}"] = "a property in proton, a method here"
        elif _is_method(their_static) and isinstance(our_static, property):
            found[f"kind {key}.{member}"] = "a method in proton, a property here"
        elif _is_method(their_static):
            theirs_m, ours_m = signature(getattr(theirs, member)), signature(getattr(ours, member))
            if theirs_m != ours_m:
                found[f"signature {key}.{member}"] = f"{theirs_m} != {ours_m}"
    return found


def differences(modules: list[tuple[str, str]] = MODULES) -> dict[str, str]:
    """Every difference between proton's public API and ours, keyed as in ALLOWED."""
    public: set[str] = set()
    pairs = []
    for theirs_name, ours_name in modules:
        theirs, ours = importlib.import_module(theirs_name), importlib.import_module(ours_name)
        pairs.append((theirs_name, theirs, ours))
        public.update(public_names(theirs))
    found: dict[str, str] = {}
    for theirs_name, theirs, ours in pairs:
        factories = _instances(ours)
        for name in public_names(theirs):
            key = f"{theirs_name}.{name}"
            if key in NOT_API:
                continue
            if not hasattr(ours, name):
                found[f"missing {key}"] = ""
                continue
            their_value, our_value = getattr(theirs, name), getattr(ours, name)
            if inspect.isclass(their_value):
                if not inspect.isclass(our_value):
                    found[f"kind {key}"] = "a class in proton, not here"
                    continue
                instance = _make(factories, name, our_value)
                found.update(compare_class(key, our_value, their_value, instance, public))
            elif inspect.isfunction(their_value) or inspect.isbuiltin(their_value):
                theirs_sig, ours_sig = signature(their_value), signature(our_value)
                if theirs_sig != ours_sig:
                    found[f"signature {key}"] = f"{theirs_sig} != {ours_sig}"
    return found


def test_tracing_module_matches() -> None:
    """``proton.tracing`` against ``amq_python.tracing``, compared in a child process:
    importing proton.tracing patches proton's Sender and handlers for the whole process."""
    import json
    import subprocess
    import sys

    import pytest

    pytest.importorskip("jaeger_client")
    code = (
        "import json; from tests.test_api_parity import differences; "
        "print(json.dumps(differences([('proton.tracing', 'amq_python.tracing')])))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=str(Path(__file__).resolve().parent.parent))
    assert done.returncode == 0, done.stderr
    new = {k: v for k, v in json.loads(done.stdout).items() if k not in ALLOWED}
    assert not new, f"new API differences from proton.tracing: {new}"


def test_no_new_differences() -> None:
    """Every difference from proton's API is a known one, with its reason in ALLOWED."""
    new = {key: detail for key, detail in differences().items() if key not in ALLOWED}
    assert not new, "new API differences from python-qpid-proton:\n" + "\n".join(
        f"  {key}: {detail}" for key, detail in sorted(new.items())
    )


def test_allowed_list_is_current() -> None:
    """Each ALLOWED entry is still a difference: fixed ones must leave the list."""
    stale = sorted(set(ALLOWED) - set(differences()))
    assert not stale, "fixed, remove from ALLOWED: " + ", ".join(stale)


def test_exception_classes_match() -> None:
    """The exceptions of proton.utils keep their bases: catching LinkException or
    ConnectionException catches them as in proton."""
    import proton.utils

    import amq_python.utils

    for name in ("SendException", "LinkDetached", "ConnectionClosed"):
        theirs = [c.__name__ for c in getattr(proton.utils, name).__mro__]
        ours = [c.__name__ for c in getattr(amq_python.utils, name).__mro__]
        assert ours == theirs, name
