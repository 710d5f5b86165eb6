"""Throughput on the receiving side: a listening sender process and a receiving process (1r).

``serve`` runs ``Container.listen``; to each receiving link a peer attaches it sends ``--n``
messages with a binary body of ``--size`` bytes, unsettled, as fast as the peer's credit allows
(``on_sendable``), and settles them as the outcomes come.

``fetch`` connects and attaches one receiver with ``MessagingHandler(prefetch=--credit)``, which
accepts each message (auto-accept) and tops the credit up as it goes. The clock runs from the
first message to the ``--n``-th; it then closes the connection and prints
``{"msgs_per_s": ..., "seconds": ..., "cpu_us_per_msg": ...}`` (CPU: this process's user plus
system time over the same interval, per message). ``bench.scenarios.aio_client receive`` does
the same with ``amq_python.aio``.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import Api, FatalErrors, emit, load_api, parser, rate, signal_ready, url
from bench.scenarios.throughput import cpu_seconds

ADDRESS = "bench-out"


def server_class(api: Api) -> type:
    """A listening ``MessagingHandler`` that sends a fixed number of messages to each receiver."""

    class Server(api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, total: int, size: int) -> None:
            super().__init__()
            self.address = address
            self.total = total
            self.body = bytes(size)
            self.left: dict[str, int] = {}  # by link name

        def on_start(self, event: Any) -> None:
            event.container.listen(self.address)
            signal_ready()

        def on_sendable(self, event: Any) -> None:
            sender = event.sender
            left = self.left.get(sender.name, self.total)
            while left and sender.credit:
                sender.send(api.Message(body=self.body))
                left -= 1
            self.left[sender.name] = left

    return Server


def fetcher_class(api: Api) -> type:
    """A ``MessagingHandler`` that receives a fixed number of messages and times them."""

    class Fetcher(FatalErrors, api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, total: int, credit: int) -> None:
            super().__init__(prefetch=credit)
            self.address = address
            self.total = total
            self.received = 0
            self.started = 0.0
            self.seconds = 0.0
            self.cpu_started = 0.0
            self.cpu_seconds = 0.0

        def on_start(self, event: Any) -> None:
            conn = event.container.connect(self.address, reconnect=False)
            event.container.create_receiver(conn, ADDRESS)

        def on_message(self, event: Any) -> None:
            if self.received == self.total:
                return  # came in the same read as the last one, after the close
            if not self.received:
                self.cpu_started = cpu_seconds()
                self.started = time.perf_counter()
            self.received += 1
            if self.received == self.total:
                self.seconds = time.perf_counter() - self.started
                self.cpu_seconds = cpu_seconds() - self.cpu_started
                event.connection.close()

    return Fetcher


def main() -> None:
    """Run the ``serve`` or ``fetch`` role."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("role", choices=("serve", "fetch"))
    p.add_argument("--n", type=int, default=100_000, help="messages per receiving link")
    p.add_argument("--size", type=int, default=100, help="serve: body size in bytes")
    p.add_argument("--credit", type=int, default=10, help="fetch: receiver credit window")
    args = p.parse_args()
    api = load_api(args.impl)
    if args.role == "serve":
        api.Container(server_class(api)(url(args.port), args.n, args.size)).run()
        return
    fetcher = fetcher_class(api)(url(args.port), args.n, args.credit)
    api.Container(fetcher).run()
    if fetcher.received != args.n:
        raise SystemExit(f"only {fetcher.received} of {args.n} messages received")
    emit(rate(args.n, fetcher.seconds, fetcher.cpu_seconds))


if __name__ == "__main__":
    main()
