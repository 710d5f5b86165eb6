"""Throughput through a broker: a consuming process and a producing process (scenario 6).

Neither side listens: both connect to a broker (``amq_python.broker``, or python-qpid-proton's
test broker) and meet on the queue ``--queue``; the driver starts the broker and both processes.

``consume`` attaches a receiver with ``MessagingHandler(prefetch=...)``, prints ``READY`` once the
broker has attached it, then accepts each message as it arrives. After the ``--n``-th it prints
``{"finished": ...}``: the CLOCK_MONOTONIC time of that last accept.

``produce`` waits for credit, then sends ``--n`` messages with a binary body of ``--size`` bytes,
unsettled, as fast as the broker's credit allows, waits until the broker has ACCEPTED them all and
prints ``{"started": ...}``: the CLOCK_MONOTONIC time of the first send.

CLOCK_MONOTONIC is one clock for every process on the machine, so the driver can time the whole
path, first send to last message received and accepted, as ``finished - started``.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import Api, FatalErrors, emit, load_api, parser, signal_ready, url


def now() -> float:
    """Seconds on the machine-wide monotonic clock, comparable between processes."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def consumer_class(api: Api) -> type:
    """A ``MessagingHandler`` that accepts ``total`` messages from a queue and notes when."""

    class Consumer(FatalErrors, api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, queue: str, total: int, prefetch: int) -> None:
            super().__init__(prefetch=prefetch, auto_accept=False)
            self.address = address
            self.queue = queue
            self.total = total
            self.received = 0
            self.finished = 0.0

        def on_start(self, event: Any) -> None:
            conn = event.container.connect(self.address, reconnect=False)
            event.container.create_receiver(conn, self.queue)

        def on_link_opened(self, event: Any) -> None:
            signal_ready()

        def on_message(self, event: Any) -> None:
            self.accept(event.delivery)
            self.received += 1
            if self.received == self.total:
                self.finished = now()
                event.connection.close()

    return Consumer


def producer_class(api: Api) -> type:
    """A ``MessagingHandler`` that sends ``total`` messages to a queue, unsettled."""

    class Producer(FatalErrors, api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, queue: str, total: int, size: int) -> None:
            super().__init__()
            self.address = address
            self.queue = queue
            self.left = total
            self.unaccepted = total
            self.body = bytes(size)
            self.started = 0.0

        def on_start(self, event: Any) -> None:
            conn = event.container.connect(self.address, reconnect=False)
            event.container.create_sender(conn, self.queue)

        def on_sendable(self, event: Any) -> None:
            sender = event.sender
            if not self.started:
                self.started = now()
            while self.left and sender.credit:
                sender.send(api.Message(body=self.body))
                self.left -= 1

        def on_accepted(self, event: Any) -> None:
            self.unaccepted -= 1
            if not self.unaccepted:
                event.connection.close()

    return Producer


def main() -> None:
    """Run the ``consume`` or ``produce`` role against the broker on ``--port``."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("role", choices=("consume", "produce"))
    p.add_argument("--queue", default="bench", help="the broker queue both sides use")
    p.add_argument("--n", type=int, default=100_000, help="messages in all")
    p.add_argument("--size", type=int, default=100, help="produce: body size in bytes")
    p.add_argument("--prefetch", type=int, default=1000, help="consume: receiver credit window")
    args = p.parse_args()
    api = load_api(args.impl)
    address = url(args.port)
    if args.role == "consume":
        consumer = consumer_class(api)(address, args.queue, args.n, args.prefetch)
        api.Container(consumer).run()
        if consumer.received != args.n:
            raise SystemExit(f"only {consumer.received} of {args.n} messages received")
        emit({"finished": consumer.finished})
        return
    producer = producer_class(api)(address, args.queue, args.n, args.size)
    api.Container(producer).run()
    if producer.unaccepted:
        raise SystemExit(f"{producer.unaccepted} of {args.n} messages not accepted")
    emit({"started": producer.started})


if __name__ == "__main__":
    main()
