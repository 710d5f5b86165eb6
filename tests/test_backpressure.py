"""Backpressure: a sender faster than its receiver holds memory bounded by credit.

One container plays both ends over loopback: our listener's receiver grants one credit at a
time, every few milliseconds (a slow consumer), and the client's sender sends 256 KiB messages
only in ``on_sendable`` while it has credit, trying to push 200 of them (50 MiB) as fast as it
can. What the library holds for the sender (deliveries queued on the link, bytes waiting in the
transport's output) must stay within the credit, and resident memory must not grow by anything
like the 50 MiB the application tried to send.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import run

MESSAGES = 200
SIZE = 256 * 1024
CREDIT_STEP = 0.004


def rss_mib() -> float:
    """Resident memory now, in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class SlowReceiver(MessagingHandler):
    """The listener's side: no prefetch; one credit every CREDIT_STEP seconds, and only when
    the last one is used."""

    def __init__(self) -> None:
        super().__init__(prefetch=0)
        self.received = 0
        self.receiver: Any = None
        self.acceptor: Any = None

    def on_link_opened(self, event: Any) -> None:
        """The client's sender attached: start granting credit."""
        if event.receiver is not None and self.receiver is None:
            self.receiver = event.receiver
            event.container.schedule(CREDIT_STEP, self)

    def on_timer_task(self, event: Any) -> None:
        """One more credit if the last was used; again later until every message came."""
        if self.received >= MESSAGES:
            return
        if self.receiver.credit == 0:
            self.receiver.flow(1)
        event.container.schedule(CREDIT_STEP, self)

    def on_message(self, event: Any) -> None:
        """Count (the message is accepted by default)."""
        self.received += 1


class FastSender(MessagingHandler):
    """The client: sends while it has credit; notes the most the library held at once."""

    def __init__(self, url: str, server: SlowReceiver) -> None:
        super().__init__()
        self.url = url
        self.server = server
        self.sent = 0
        self.accepted = 0
        self.max_queued = 0
        self.max_output = 0
        self.max_rss = 0.0
        self.body = b"x" * SIZE

    def on_sendable(self, event: Any) -> None:
        """Send as much as credit allows."""
        sender = event.sender
        while sender.credit > 0 and self.sent < MESSAGES:
            sender.send(Message(body=self.body))
            self.sent += 1
        self.max_queued = max(self.max_queued, sender.queued)
        self.max_output = max(self.max_output, event.transport.pending())
        self.max_rss = max(self.max_rss, rss_mib())

    def on_accepted(self, event: Any) -> None:
        """All accepted: close the connection and the listener."""
        self.accepted += 1
        if self.accepted == MESSAGES:
            event.connection.close()
            self.server.acceptor.close()


def test_sender_memory_is_bounded_by_credit() -> None:
    """200 x 256 KiB through a one-credit receiver: at most one delivery queued, output
    within about one message, RSS growth far below the 50 MiB attempted."""
    gc.collect()
    server = SlowReceiver()
    container = Container(server)
    # No SASL: Cyrus's server side is configured once per process, and other test files
    # configure it for their own listeners.
    container.sasl_enabled = False
    server.acceptor = container.listen("amqp://127.0.0.1:0")
    url = f"amqp://127.0.0.1:{server.acceptor.port}"
    client = FastSender(url, server)
    before = rss_mib()
    conn = container.connect(url, handler=client, reconnect=False, sasl_enabled=False)
    container.create_sender(conn, "slow")
    run(container, 60)
    growth = client.max_rss - before
    print(f"backpressure: RSS {before:.1f} MiB -> peak {client.max_rss:.1f} MiB; "
          f"max queued {client.max_queued}, max output {client.max_output} bytes")
    assert client.accepted == MESSAGES == server.received
    assert client.max_queued <= 1
    assert client.max_output <= 2 * SIZE
    assert growth < 16, f"RSS grew by {growth:.1f} MiB while 50 MiB were offered"
