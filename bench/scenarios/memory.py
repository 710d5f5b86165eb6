"""Memory: resident memory of a process holding many idle connections (scenario 4).

The listener is ``bench.scenarios.throughput listen`` in another process. This process reads
VmRSS once its container is built, opens ``--connections`` connections (no links), waits until
every one is open, reads VmRSS again, closes them and prints
``{"rss_mib": ..., "kib_per_connection": ...}``.
It opens at most ``MAX_CONNECTING`` connections at a time (see ``bench.common``).
"""

from __future__ import annotations

from typing import Any

from bench.common import (
    MAX_CONNECTING,
    Api,
    FatalErrors,
    emit,
    load_api,
    parser,
    raise_fd_limit,
    rss_kib,
    url,
)


def holder_class(api: Api) -> type:
    """A ``MessagingHandler`` that opens idle connections and samples memory when all are up."""

    class Holder(FatalErrors, api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, connections: int) -> None:
            super().__init__()
            self.address = address
            self.connections = connections
            self.opened: list[Any] = []
            self.up = 0
            self.before_kib = 0
            self.after_kib = 0

        def on_start(self, event: Any) -> None:
            self.before_kib = rss_kib()
            for _ in range(min(MAX_CONNECTING, self.connections)):
                self.connect(event.container)

        def connect(self, container: Any) -> None:
            self.opened.append(container.connect(self.address, reconnect=False))

        def on_connection_opened(self, event: Any) -> None:
            self.up += 1
            if len(self.opened) < self.connections:
                self.connect(event.container)
            elif self.up == self.connections:
                self.after_kib = rss_kib()
                for conn in self.opened:
                    conn.close()

    return Holder


def main() -> None:
    """Hold the connections and report resident memory."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=1_000, help="idle connections to hold")
    args = p.parse_args()
    raise_fd_limit()
    api = load_api(args.impl)
    holder = holder_class(api)(url(args.port), args.connections)
    api.Container(holder).run()
    if not holder.after_kib:
        raise SystemExit(f"only {holder.up} of {args.connections} connections opened")
    emit(
        {
            "rss_mib": holder.after_kib / 1024,
            "kib_per_connection": (holder.after_kib - holder.before_kib) / args.connections,
        }
    )


if __name__ == "__main__":
    main()
