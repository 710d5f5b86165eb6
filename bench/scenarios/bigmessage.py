"""One large message between two processes: the peak memory of each side (issue 8).

``receive`` listens, takes one message, writes its peak RSS (``ru_maxrss``) to ``--report``,
and accepts it. ``send`` connects, sends one message of ``--size`` bytes, waits for ACCEPTED,
then prints both peaks in MiB and as multiples of the message size:
``{"sender_mib": ..., "receiver_mib": ..., "sender_x": ..., "receiver_x": ...}``.
The peaks include the interpreter and the library (about 20-30 MiB), so the multiples are an
upper bound for what the message costs.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

from bench.common import Api, FatalErrors, emit, load_api, parser, signal_ready, url


def peak_mib() -> float:
    """This process's peak resident memory in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def receiver_class(api: Api) -> type:
    """A listening handler that records its peak memory once the message is in."""

    class Receiver(api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, report: Path) -> None:
            super().__init__()
            self.address = address
            self.report = report

        def on_start(self, event: Any) -> None:
            self.acceptor = event.container.listen(self.address)
            signal_ready()

        def on_link_opening(self, event: Any) -> None:
            event.link.target.address = event.link.remote_target.address

        def on_message(self, event: Any) -> None:
            size = len(event.message.body)
            self.report.write_text(json.dumps({"size": size, "peak_mib": peak_mib()}))

    return Receiver


def sender_class(api: Api) -> type:
    """A handler that sends one message of ``size`` bytes and waits for it to be accepted."""

    class Sender(FatalErrors, api.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, address: str, size: int) -> None:
            super().__init__()
            self.address = address
            self.size = size
            self.sent = False

        def on_start(self, event: Any) -> None:
            conn = event.container.connect(self.address, reconnect=False)
            event.container.create_sender(conn, "big")

        def on_sendable(self, event: Any) -> None:
            if not self.sent:
                self.sent = True
                event.sender.send(api.Message(body=b"x" * self.size))

        def on_accepted(self, event: Any) -> None:
            event.connection.close()

    return Sender


def main() -> None:
    """Run the ``receive`` or ``send`` role."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("role", choices=("receive", "send"))
    p.add_argument("--size", type=int, default=100_000_000, help="message body in bytes")
    p.add_argument("--report", type=Path, required=True, help="where the receiver writes")
    args = p.parse_args()
    api = load_api(args.impl)
    if args.role == "receive":
        api.Container(receiver_class(api)(url(args.port), args.report)).run()
        return
    api.Container(sender_class(api)(url(args.port), args.size)).run()
    received = json.loads(args.report.read_text())
    sent_mib = peak_mib()
    size_mib = args.size / 2**20
    emit(
        {
            "sender_mib": sent_mib,
            "receiver_mib": received["peak_mib"],
            "sender_x": sent_mib / size_mib,
            "receiver_x": received["peak_mib"] / size_mib,
        }
    )


if __name__ == "__main__":
    main()
