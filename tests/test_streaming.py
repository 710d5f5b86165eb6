"""Streamed (partial) deliveries and ``Delivery.abort``, against our own listener on loopback.

A sender writes one delivery in several ``Sender.stream`` calls, each in a later timer turn so
each goes out in its own transfer frame, then ``advance()`` ends it. The receiving side sees
the delivery ``partial`` (with ``pending`` bytes growing) until the last frame, and then one
whole message in ``on_message``. A delivery aborted part-way reaches the receiver's
``on_aborted`` and never ``on_message``; the link goes on working after it.
"""

from __future__ import annotations

from typing import Any

from amq_python import Delivery, Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import run

CHUNK_GAP = 0.05


class Receiving(MessagingHandler):
    """Listens; records each delivery event's partial/pending, messages and aborts."""

    def __init__(self, chunks: list[bytes], abort: bool = False) -> None:
        super().__init__()
        self.streaming = Streaming(self, chunks, abort)
        self.seen: list[tuple[bool, int]] = []
        self.messages: list[Any] = []
        self.aborted: list[str] = []
        self.acceptor: Any = None

    def on_start(self, event: Any) -> None:
        self.acceptor = event.container.listen("127.0.0.1:0")
        event.container.create_sender(
            f"127.0.0.1:{self.acceptor.port}", "stream", handler=self.streaming
        )

    def on_delivery(self, event: Any) -> None:
        delivery: Delivery = event.delivery
        if event.link.is_receiver and not delivery.aborted:
            self.seen.append((delivery.partial, delivery.pending))

    def on_message(self, event: Any) -> None:
        self.messages.append(event.message.body)

    def on_aborted(self, event: Any) -> None:
        self.aborted.append(event.delivery.tag)


class Streaming(MessagingHandler):
    """Connects to the listener and streams ``chunks`` into one delivery; with ``abort``, aborts
    it before the last chunk and then sends one ordinary message."""

    def __init__(self, receiving: Receiving, chunks: list[bytes], abort: bool = False) -> None:
        super().__init__()
        self.receiving = receiving
        self.chunks = list(chunks)
        self.abort = abort
        self.delivery: Delivery | None = None
        self.sender: Any = None

    def on_sendable(self, event: Any) -> None:
        if self.delivery is None:
            self.sender = event.sender
            self.delivery = self.sender.delivery("streamed")
            self.on_timer_task(event)

    def on_timer_task(self, event: Any) -> None:
        assert self.delivery is not None
        if self.abort and len(self.chunks) == 1:
            self.delivery.abort()
            self.sender.send(Message(body="after the abort"))
            return
        self.sender.stream(self.chunks.pop(0))
        if self.chunks:
            event.container.schedule(CHUNK_GAP, self)
        else:
            self.sender.advance()

    def on_settled(self, event: Any) -> None:
        event.connection.close()
        self.receiving.acceptor.close()


def _chunks(message: Message, parts: int) -> list[bytes]:
    data = message.encode()
    size = -(-len(data) // parts)
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_streamed_delivery_is_partial_until_complete() -> None:
    """Three stream() calls then advance(): partial events with growing pending bytes, then
    one complete message with the whole body."""
    body = bytes(range(256)) * 40
    chunks = _chunks(Message(body=body), 3)
    receiving = Receiving(chunks)
    container = Container(receiving)
    run(container, timeout=10)
    assert receiving.messages == [body]
    partial = [pending for is_partial, pending in receiving.seen if is_partial]
    assert len(partial) >= 2, receiving.seen
    assert partial == sorted(partial) and partial[-1] < sum(map(len, chunks))
    assert receiving.seen[-1] == (False, sum(map(len, chunks)))


def test_abort_reaches_on_aborted() -> None:
    """abort() on a partly sent delivery: the receiver's on_aborted gets it, on_message does
    not; the next message on the same link arrives."""
    chunks = _chunks(Message(body=b"x" * 30000), 3)
    receiving = Receiving(chunks, abort=True)
    container = Container(receiving)
    run(container, timeout=10)
    assert receiving.aborted == ["streamed"]
    assert receiving.messages == ["after the abort"]

