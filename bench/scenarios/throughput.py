"""Throughput, direct: a listening receiver process and a sending process (scenarios 1 and 5).

``listen`` runs ``Container.listen`` with a ``MessagingHandler(prefetch=...)`` that accepts every
message (auto-accept). It also serves the idle connections of the memory scenario.

``send`` opens ``--connections`` connections (``MAX_CONNECTING`` at a time) with one sender link
each. Once every link has credit, each sends its share of ``--n`` messages with a binary body of
``--size`` bytes, unsettled, as fast as credit allows. The clock runs from the first send to the
last ACCEPTED disposition; the process then closes its connections and prints
``{"msgs_per_s": ..., "seconds": ..., "cpu_us_per_msg": ...}``, the last being this process's
CPU time (user plus system) over the same interval per message: the sender's cost per message,
which scenario 5 follows as the number of connections grows.
"""

from __future__ import annotations

import resource
import time
from typing import Any

from bench.common import (
    MAX_CONNECTING,
    Api,
    FatalErrors,
    emit,
    load_api,
    parser,
    raise_fd_limit,
    rate,
    signal_ready,
    url,
)


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def listener_class(api: Api) -> type:
    """A ``MessagingHandler`` that listens on a URL and accepts whatever arrives."""

    class Listener(api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, prefetch: int) -> None:
            super().__init__(prefetch=prefetch)
            self.address = address

        def on_start(self, event: Any) -> None:
            event.container.listen(self.address)
            signal_ready()

    return Listener


def sender_class(api: Api) -> type:
    """A ``MessagingHandler`` that sends a fixed number of messages over several connections."""

    class Sender(FatalErrors, api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, total: int, size: int, connections: int) -> None:
            super().__init__()
            self.address = address
            self.total = total
            self.body = bytes(size)
            self.connections = connections
            share, extra = divmod(total, connections)
            self.left = {f"bench-{i}": share + (i < extra) for i in range(connections)}
            self.opened: list[Any] = []
            self.credited: list[Any] = []
            self.accepted = 0
            self.started = 0.0
            self.seconds = 0.0
            self.cpu_started = 0.0
            self.cpu_seconds = 0.0

        def on_start(self, event: Any) -> None:
            for _ in range(min(MAX_CONNECTING, self.connections)):
                self.connect(event.container)

        def connect(self, container: Any) -> None:
            conn = container.connect(self.address, reconnect=False)
            container.create_sender(conn, name=f"bench-{len(self.opened)}")
            self.opened.append(conn)

        def on_connection_opened(self, event: Any) -> None:
            if len(self.opened) < self.connections:
                self.connect(event.container)

        def on_sendable(self, event: Any) -> None:
            if self.started:
                self.fill(event.sender)
                return
            self.credited.append(event.sender)
            if len(self.credited) == self.connections:
                self.cpu_started = cpu_seconds()
                self.started = time.perf_counter()
                for sender in self.credited:
                    self.fill(sender)

        def fill(self, sender: Any) -> None:
            name = sender.name
            left = self.left[name]
            while left and sender.credit:
                sender.send(api.Message(body=self.body))
                left -= 1
            self.left[name] = left

        def on_accepted(self, event: Any) -> None:
            self.accepted += 1
            if self.accepted == self.total:
                self.seconds = time.perf_counter() - self.started
                self.cpu_seconds = cpu_seconds() - self.cpu_started
                for conn in self.opened:
                    conn.close()

    return Sender


def main() -> None:
    """Run the ``listen`` or ``send`` role."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("role", choices=("listen", "send"))
    p.add_argument("--prefetch", type=int, default=10, help="listen: receiver credit window")
    p.add_argument("--n", type=int, default=100_000, help="send: messages in all")
    p.add_argument("--size", type=int, default=100, help="send: body size in bytes")
    p.add_argument("--connections", type=int, default=1, help="send: concurrent connections")
    args = p.parse_args()
    api = load_api(args.impl)
    raise_fd_limit()
    if args.role == "listen":
        api.Container(listener_class(api)(url(args.port), args.prefetch)).run()
        return
    sender = sender_class(api)(url(args.port), args.n, args.size, args.connections)
    api.Container(sender).run()
    if sender.accepted != args.n:
        raise SystemExit(f"only {sender.accepted} of {args.n} messages accepted")
    emit(rate(args.n, sender.seconds, sender.cpu_seconds))


if __name__ == "__main__":
    main()
