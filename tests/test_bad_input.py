"""Bad input from the application: a clear Python error naming the fault, never a crash in C.

Each case is something a user might get wrong: a body of a type AMQP cannot carry, a wrong
option name or type on connect/create_sender/create_receiver, sending on a closed link,
accepting a settled delivery, a negative timer delay, a non-ASCII host, a port out of range.
The error must be raised where the mistake is made (not later, inside the event loop).
"""

from __future__ import annotations

from typing import Any

import pytest

from amq_python import Message, Url
from amq_python._core._exceptions import LinkException, ProtonException
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import Peer, run

CLOSED_PORT = "amqp://127.0.0.1:1"


@pytest.mark.parametrize("body", [object(), {1, 2}, lambda: 0, Exception("x")])
def test_unsupported_body_type(body: Any) -> None:
    """A body AMQP cannot encode fails at encode time with the Python type named."""
    with pytest.raises(ProtonException, match=type(body).__name__):
        Message(body=body).encode()


def test_unsupported_property_value() -> None:
    """An application property of an unsupported type is refused the same way."""
    with pytest.raises(ProtonException, match="object"):
        Message(body=1, properties={"a": object()}).encode()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bogus": 1}, TypeError, "unknown option"),
        ({"heartbeat": "5"}, TypeError, "heartbeat must be a number"),
        ({"max_frame_size": "big"}, TypeError, "max_frame_size must be an int"),
        ({"max_frame_size": -1}, ValueError, "max_frame_size"),
        ({"user": 5}, TypeError, "user must be a str"),
        ({"password": b"pw"}, TypeError, "password must be a str"),
        ({"virtual_host": 1.5}, TypeError, "virtual_host must be a str"),
        ({"allowed_mechs": 7}, TypeError, "allowed_mechs"),
        ({"reconnect": "yes"}, TypeError, "reconnect"),
    ],
)
def test_connect_bad_options(kwargs: dict[str, Any], error: type, match: str) -> None:
    """connect() names the bad option at once."""
    with pytest.raises(error, match=match):
        Container().connect(CLOSED_PORT, **kwargs)


def test_connect_bad_password_type_does_not_echo_it() -> None:
    """The message says the password's type, never its value."""
    with pytest.raises(TypeError) as info:
        Container().connect(CLOSED_PORT, password=["s3cret"])
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c, conn: c.create_sender(conn, 5), "target must be a str"),
        (lambda c, conn: c.create_sender(conn, "q", name=5), "name must be a str"),
        (lambda c, conn: c.create_sender(conn, "q", source=b"x"), "source must be a str"),
        (lambda c, conn: c.create_receiver(conn, 5), "source must be a str"),
        (lambda c, conn: c.create_receiver(conn, "q", target=1), "target must be a str"),
        (lambda c, conn: c.create_receiver(conn, "q", options=5), "apply"),
        (lambda c, conn: c.create_sender(5, "q"), "Connection, Session or URL"),
        (lambda c, conn: c.create_sender(conn, "q", bogus=1), "bogus"),
        (lambda c, conn: c.create_receiver(conn, "q", bogus=1), "bogus"),
    ],
)
def test_link_bad_options(call: Any, match: str) -> None:
    """create_sender/create_receiver raise TypeError naming the argument."""
    container = Container()
    conn = container.connect(CLOSED_PORT, reconnect=False)
    with pytest.raises(TypeError, match=match):
        call(container, conn)


def test_send_on_closed_link() -> None:
    """Sending on a link the application closed raises LinkException (a message or bytes)."""
    conn = Container().connect(CLOSED_PORT, reconnect=False)
    sender = conn.session().sender("closed")
    sender.open()
    sender.close()
    with pytest.raises(LinkException, match="closed"):
        sender.send(Message(body="late"))
    with pytest.raises(LinkException):
        sender.send(b"late")


class AcceptAfterSettle(MessagingHandler):
    """Receives one message, settles it, then tries to change its outcome."""

    def __init__(self, url: str) -> None:
        super().__init__(auto_accept=False)
        self.url = url
        self.errors: list[Exception] = []
        self.sent = False

    def on_start(self, event: Any) -> None:
        """A sender and a receiver on the peer's queue."""
        conn = event.container.connect(self.url, reconnect=False)
        event.container.create_sender(conn, "bad-input")
        event.container.create_receiver(conn, "bad-input")

    def on_sendable(self, event: Any) -> None:
        """One message."""
        if not self.sent:
            self.sent = True
            event.sender.send(Message(body="once"))

    def on_message(self, event: Any) -> None:
        """Settle, then accept and reject: both must raise."""
        event.delivery.settle()
        for change in (self.accept, self.reject):
            try:
                change(event.delivery)
            except ProtonException as e:
                self.errors.append(e)
        event.connection.close()


def test_accept_on_settled_delivery() -> None:
    """Accepting (or rejecting) a delivery already settled raises ProtonException."""
    with Peer() as peer:
        handler = AcceptAfterSettle(peer.url)
        run(Container(handler), 10)
    assert len(handler.errors) == 2
    assert all("settled" in str(e) for e in handler.errors)


@pytest.mark.parametrize(("delay", "error"), [(-1, ValueError), (-0.001, ValueError),
                                              ("1", TypeError), (float("nan"), TypeError)])
def test_timer_bad_delay(delay: Any, error: type) -> None:
    """schedule() refuses a negative or non-numeric delay."""
    with pytest.raises(error, match="delay"):
        Container().schedule(delay, None)


def test_non_ascii_host_becomes_idna() -> None:
    """A non-ASCII host name is converted to its IDNA form; one IDNA cannot encode is a
    ValueError naming the host."""
    assert Url("amqp://bücher.example:5672").host == "xn--bcher-kva.example"
    with pytest.raises(ValueError, match="host"):
        Url("amqp://" + "é" * 70 + ":5672")
    with pytest.raises(ValueError, match="host"):
        Container().connect("amqp://a\x00b:5672")


@pytest.mark.parametrize("url", ["amqp://h:70000", "amqp://h:65536", "amqp://h:-1",
                                 "amqp://h:99999999999999999999"])
def test_port_out_of_range(url: str) -> None:
    """Ports outside 0-65535 are refused by Url, connect() and listen()."""
    with pytest.raises(ValueError, match="port"):
        Url(url)
    with pytest.raises(ValueError, match="port"):
        Container().connect(url)
    with pytest.raises(ValueError, match="port"):
        Url(host="h", port=70000)
