"""Bad input to send() and to the encoder gets a clear error (issue #18).

- ``Sender.send`` takes a Message, or bytes it streams into the current delivery (as
  python-qpid-proton does); anything else is a TypeError naming what it takes and what it got,
  and a Message's own AttributeError is not disguised as one.
- ``BlockingSender.send`` takes a Message only: bytes would stream into no delivery, with no
  settlement to wait for.
- A value AMQP cannot carry is reported with the field it is in and its type, and the
  encoder's internal fall-back exception is not in the traceback.

The send cases on a bare Sender need no peer (an unbound Connection), so they run on both
libraries side by side; the blocking ones use a python-qpid-proton broker.
"""

from __future__ import annotations

import datetime
import importlib
import traceback
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import amq_python
from amq_python import DataException, LinkException, Message
from amq_python.utils import BlockingConnection
from tests.peers.proton_broker import ProtonBroker

LIBRARIES = ["proton", "amq_python"]


def open_sender(module: ModuleType) -> Any:
    """An open Sender on an unbound Connection of ``module`` (no transport, no peer)."""
    connection = module.Connection()
    connection.open()
    session = connection.session()
    session.open()
    sender = session.sender("errors")
    sender.open()
    return sender


def outcome(call: Any) -> tuple[str, Any]:
    """("returned", value) or ("raised", exception class name)."""
    try:
        return "returned", call()
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return "raised", type(error).__name__


@pytest.mark.parametrize("obj", ["hello", 42, None, {"body": 1}, 1.5])
def test_sender_send_refuses_other_types(obj: Any) -> None:
    """Both libraries raise TypeError; ours says what send() takes and what it got."""
    proton = importlib.import_module("proton")
    assert outcome(lambda: open_sender(proton).send(obj)) == ("raised", "TypeError")
    with pytest.raises(TypeError) as info:
        open_sender(amq_python).send(obj)
    assert str(info.value) == (
        f"send() takes a Message or encoded bytes, got {type(obj).__name__}"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("module_name", LIBRARIES)
def test_sender_send_streams_bytes_into_the_current_delivery(module_name: str) -> None:
    """Encoded bytes are still taken: streamed into the current delivery, the count returned."""
    module = importlib.import_module(module_name)
    sender = open_sender(module)
    delivery = sender.delivery(b"t1")
    payload = module.Message(body="streamed").encode()
    assert sender.send(payload) == len(payload)
    assert sender.send(bytearray(b"xy")) == 2
    assert delivery.pending == len(payload) + 2


def test_sender_send_bytes_without_a_delivery() -> None:
    """Bytes with no current delivery: LinkException in both; ours says what is missing."""
    proton = importlib.import_module("proton")
    assert outcome(lambda: open_sender(proton).send(b"raw")) == ("raised", "LinkException")
    with pytest.raises(LinkException, match=r"no current delivery on link 'errors'.*delivery\("):
        open_sender(amq_python).send(b"raw")


@pytest.mark.parametrize("module_name", LIBRARIES)
def test_sender_send_message_makes_a_delivery(module_name: str) -> None:
    """The normal path is unchanged: a Message (or a subclass) makes a new delivery."""
    module = importlib.import_module(module_name)

    class Tagged(module.Message):  # type: ignore[name-defined,misc]
        """A Message subclass, as applications write."""

    sender = open_sender(module)
    first = sender.send(module.Message(body="one"))
    second = sender.send(Tagged(body="two"))
    assert type(first).__name__ == type(second).__name__ == "Delivery"
    assert first.tag != second.tag


class BrokenBody(Message):
    """A Message whose body getter fails with AttributeError (a bug in the application)."""

    @property  # type: ignore[override]
    def body(self) -> Any:
        raise AttributeError("body is not ready")

    @body.setter
    def body(self, value: Any) -> None:
        pass


def test_message_attribute_error_is_not_hidden() -> None:
    """An AttributeError from inside a Message is the application's: it is not a TypeError."""
    with pytest.raises(AttributeError, match="body is not ready"):
        open_sender(amq_python).send(BrokenBody())


@pytest.fixture(scope="module")
def broker() -> Iterator[ProtonBroker]:
    """One python-qpid-proton broker for the blocking cases."""
    with ProtonBroker() as peer:
        yield peer


@pytest.mark.parametrize("obj", [b"raw", "hello", None])
def test_blocking_sender_takes_a_message_only(broker: ProtonBroker, obj: Any) -> None:
    """BlockingSender.send refuses anything but a Message before touching the link, and the
    sender still works afterwards."""
    connection = BlockingConnection(broker.url, timeout=10)
    try:
        sender = connection.create_sender(f"q-{uuid.uuid4().hex[:10]}")
        with pytest.raises(TypeError) as info:
            sender.send(obj)
        assert str(info.value) == f"send() takes a Message, got {type(obj).__name__}"
        delivery = sender.send(Message(body="after"))
        assert delivery.settled and delivery.remote_state == delivery.ACCEPTED
    finally:
        connection.close()


WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    ("fields", "where", "kind"),
    [
        ({"properties": {"ok": 1, "when": WHEN}}, "Message.properties['when']", "datetime"),
        ({"body": WHEN}, "Message.body", "datetime"),
        ({"body": {"a": [1, {"b": WHEN.date()}]}}, "Message.body['a'][1]['b']", "date"),
        ({"annotations": {"x-opt": [1, object()]}}, "Message.annotations[symbol('x-opt')][1]",
         "object"),
        ({"instructions": {"x-i": {1, 2}}}, "Message.instructions[symbol('x-i')]", "set"),
        ({"properties": {"big": 2**70}}, "Message.properties['big']", "int"),
    ],
)
def test_unencodable_value_names_field_and_type(
    fields: dict[str, Any], where: str, kind: str
) -> None:
    """The error starts with the field's path and names the value's type; the traceback shows
    no chained internal exception (the encoder's fall-back signal in particular)."""
    message = Message(**fields)
    for attempt in (message.encode, lambda: open_sender(amq_python).send(message)):
        with pytest.raises(DataException) as info:
            attempt()
        text = str(info.value)
        assert text.startswith(where + ": "), text
        assert kind in text
        error = info.value
        shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        assert "_Slow" not in shown
        assert "During handling of the above exception" not in shown
        assert "direct cause" not in shown


def test_proton_refuses_the_same_values() -> None:
    """python-qpid-proton refuses the same value (with a bare KeyError naming the type), so
    ours is a clearer message for the same failure, not a new one."""
    proton = importlib.import_module("proton")
    assert outcome(lambda: proton.Message(properties={"when": WHEN}).encode()) == (
        "raised", "KeyError")
