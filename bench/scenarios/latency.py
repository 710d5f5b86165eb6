"""Request/response latency, direct: a responder process and a requester process (scenario 2).

``respond`` listens; when a peer attaches a receiving link it remembers our sending end of it by
the link's source address (the pattern of python-qpid-proton's ``server_direct.py`` example), and
answers each request on the sender named by its ``reply_to``, copying ``correlation_id``.

``request`` connects, attaches a sender to ``requests`` and a receiver from a fixed reply address,
then sends one request at a time and waits for its reply. The first ``--warmup`` round trips are
discarded; the next ``--n`` are timed and it prints the median and p99 in milliseconds.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.common import Api, FatalErrors, emit, load_api, parser, signal_ready, url

REPLY_ADDRESS = "bench-replies"


def responder_class(api: Api) -> type:
    """A listening ``MessagingHandler`` that echoes each request to its ``reply_to``."""

    class Responder(api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str) -> None:
            super().__init__()
            self.address = address
            self.senders: dict[str, Any] = {}

        def on_start(self, event: Any) -> None:
            event.container.listen(self.address)
            signal_ready()

        def on_link_opening(self, event: Any) -> None:
            if event.link.is_sender:
                self.senders[event.link.remote_source.address] = event.link

        def on_message(self, event: Any) -> None:
            request = event.message
            reply = api.Message(
                address=request.reply_to,
                body=request.body,
                correlation_id=request.correlation_id,
            )
            self.senders[request.reply_to].send(reply)

    return Responder


def requester_class(api: Api) -> type:
    """A ``MessagingHandler`` that times one request/response round trip at a time."""

    class Requester(FatalErrors, api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, warmup: int, count: int, size: int) -> None:
            super().__init__()
            self.address = address
            self.warmup = warmup
            self.total = warmup + count
            self.body = bytes(size)
            self.sender: Any = None
            self.sent_at = 0.0
            self.round_trips: list[float] = []

        def on_start(self, event: Any) -> None:
            conn = event.container.connect(self.address, reconnect=False)
            self.sender = event.container.create_sender(conn, "requests")
            event.container.create_receiver(conn, REPLY_ADDRESS)

        def on_link_opened(self, event: Any) -> None:
            if event.link.is_receiver:
                self.request()

        def request(self) -> None:
            request_id = len(self.round_trips)
            message = api.Message(body=self.body, reply_to=REPLY_ADDRESS, correlation_id=request_id)
            self.sent_at = time.perf_counter()
            self.sender.send(message)

        def on_message(self, event: Any) -> None:
            elapsed = time.perf_counter() - self.sent_at
            if event.message.correlation_id != len(self.round_trips):
                raise RuntimeError(f"unexpected reply {event.message.correlation_id!r}")
            self.round_trips.append(elapsed)
            if len(self.round_trips) < self.total:
                self.request()
            else:
                event.connection.close()

    return Requester


def main() -> None:
    """Run the ``respond`` or ``request`` role."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("role", choices=("respond", "request"))
    p.add_argument("--n", type=int, default=5_000, help="request: timed round trips")
    p.add_argument("--warmup", type=int, default=500, help="request: untimed round trips first")
    p.add_argument("--size", type=int, default=100, help="request: body size in bytes")
    args = p.parse_args()
    api = load_api(args.impl)
    if args.role == "respond":
        api.Container(responder_class(api)(url(args.port))).run()
        return
    requester = requester_class(api)(url(args.port), args.warmup, args.n, args.size)
    api.Container(requester).run()
    timed = requester.round_trips[args.warmup :]
    if len(timed) != args.n:
        raise SystemExit(f"only {len(timed)} of {args.n} timed round trips completed")
    quantiles = statistics.quantiles(timed, n=100, method="inclusive")
    emit({"median_ms": statistics.median(timed) * 1e3, "p99_ms": quantiles[98] * 1e3})


if __name__ == "__main__":
    main()
