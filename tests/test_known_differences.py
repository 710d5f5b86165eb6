"""The behaviours in which amq_python differs from python-qpid-proton 0.40 on purpose.

``KNOWN_DIFFERENCES`` is the one list of them (signature-level differences are in
``tests/test_api_parity.py``'s ALLOWED). Each entry is proved by a test that runs the same
snippet on both libraries and asserts each one's result, so an entry that stops being a
difference fails here and must leave the list. The README's "Known differences" section names
every entry; a test checks that too.
"""

from __future__ import annotations

import re
import socket
from typing import Any

import proton
import proton.handlers
import proton.reactor
import pytest

import amq_python
import amq_python.handlers
import amq_python.reactor
from tests.helpers import ROOT

# key -> (the README's wording starts with this title, why we differ)
KNOWN_DIFFERENCES: dict[str, tuple[str, str]] = {
    "url-credentials-without-host": (
        "Credentials with no host",
        "a URL such as amqp://user:pw@ is malformed; proton silently connects to 0.0.0.0",
    ),
    "unset-content-type": (
        "Unset content_type and content_encoding",
        "they read None, as every other unset property; proton gives symbol('None')",
    ),
    "symbol-property-keys": (
        "Symbol and char keys in application properties",
        "they are sent as strings (the only key type AMQP allows there); proton refuses them",
    ),
    "backoff-per-attempt": (
        "One backoff delay per attempt",
        "the seed's wording: each attempt waits its own delay, and a list of N delays gives "
        "N + 1 attempts; proton waits once per pass over the URL list "
        "(tests/test_parity_connecting.py::test_a_list_of_delays_is_a_reconnect_policy)",
    ),
    "unknown-connect-option": (
        "Unknown connect() keywords",
        "a TypeError names them (a misspelt option is a bug); proton ignores them. Under "
        "python -m amq_python.compat a warning names each one and the program goes on",
    ),
    "auth-failure-stops-reconnect": (
        "An authentication failure stops reconnecting",
        "another attempt with the same credentials cannot succeed; proton retries forever "
        "(tests/test_reconnect.py::test_unauthorized_access_stops_reconnecting)",
    ),
    "unresolvable-host-retries": (
        "An unresolvable host is retried",
        "like any other failed attempt, with 'cannot resolve' in the transport error; proton's "
        "run() raises a raw socket.gaierror",
    ),
    "no-anonymous-fallback": (
        "A user name never falls back to ANONYMOUS",
        "wrong or unsupported credentials fail instead of logging in anonymously; "
        "allowed_mechs='ANONYMOUS' still forces it (tests/test_parity_sasl.py)",
    ),
    "stop-waits-for-the-close": (
        "stop() waits for the peers' Close",
        "run() returns once every peer has answered the Close, or after 2 s for one that does "
        "not (and its socket is closed); proton returns at once and leaves the socket open "
        "(tests/test_shutdown.py::test_stop_returns_although_the_peer_does_not_answer)",
    ),
}

LIBRARIES = {
    "proton": (proton, proton.reactor, proton.handlers),
    "amq_python": (amq_python, amq_python.reactor, amq_python.handlers),
}


def test_url_credentials_without_host() -> None:
    assert proton.Url("amqp://user:pw@").host == "0.0.0.0"
    with pytest.raises(ValueError, match="invalid URL"):
        amq_python.Url("amqp://user:pw@")


def test_unset_content_type() -> None:
    theirs, ours = proton.Message(), amq_python.Message()
    assert (theirs.content_type, theirs.content_encoding) == (proton.symbol("None"),) * 2
    assert (ours.content_type, ours.content_encoding) == (None, None)


def test_symbol_property_keys() -> None:
    def message(module: Any) -> Any:
        keys = {module.symbol("s"): 1, module.char("c"): 2}
        return module.Message(body="x", properties=keys)

    with pytest.raises(proton.MessageException):
        message(proton).encode()
    decoded = proton.Message()
    decoded.decode(message(amq_python).encode())
    assert [(type(k), k) for k in decoded.properties] == [(str, "s"), (str, "c")]


def test_unknown_connect_option() -> None:
    _, reactor, _ = LIBRARIES["proton"]
    connection = reactor.Container().connect("amqp://127.0.0.1:1", no_such_option=1)
    assert connection is not None
    with pytest.raises(TypeError, match="no_such_option"):
        amq_python.reactor.Container().connect("amqp://127.0.0.1:1", no_such_option=1)


def run_unresolvable(library: str) -> tuple[list[str], BaseException | None]:
    """Connect to a name that cannot resolve, with two quick retries: the transport errors
    the handler saw, and what run() raised."""
    _, reactor, handlers = LIBRARIES[library]

    class Unresolvable(handlers.MessagingHandler):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[str] = []

        def on_start(self, event: Any) -> None:
            event.container.connect("amqp://no-such-host.invalid:5672", reconnect=[0.01, 0.01])

        def on_transport_error(self, event: Any) -> None:
            self.errors.append(event.transport.condition.description)

    handler = Unresolvable()
    try:
        reactor.Container(handler).run()
    except Exception as raised:  # proton's escapes run(): that is the difference
        return handler.errors, raised
    return handler.errors, None


def test_unresolvable_host_retries() -> None:
    errors, raised = run_unresolvable("proton")
    assert isinstance(raised, socket.gaierror)
    errors, raised = run_unresolvable("amq_python")
    assert raised is None
    *attempts, gave_up = errors  # the first attempt and two retries, then the end of them
    assert len(attempts) == 3
    assert all("cannot resolve 'no-such-host.invalid'" in error for error in attempts)
    assert gave_up.startswith("gave up reconnecting") and "cannot resolve" in gave_up


def test_each_difference_has_its_test() -> None:
    """Each entry is proved here, or names the test elsewhere that proves it."""
    for key, (_title, reason) in KNOWN_DIFFERENCES.items():
        local = f"test_{key.replace('-', '_')}"
        if local in globals():
            continue
        named = re.findall(r"(tests/\w+\.py)(?:::(\w+))?", reason)
        assert named, f"{key}: no test proves it"
        for path, test in named:
            text = (ROOT / path).read_text(encoding="utf-8")
            assert not test or f"def {test}(" in text, f"{key}: {path}::{test} is gone"


def test_readme_names_every_difference() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Known differences from python-qpid-proton", 1)[1].split("\n## ")[0]
    for key, (title, _reason) in KNOWN_DIFFERENCES.items():
        assert f"**{title}" in section, f"README's Known differences lacks {key}: {title}"
