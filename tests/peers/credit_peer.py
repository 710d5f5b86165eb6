"""A receiving AMQP peer process with a fixed credit, for tests to kill, stop and restart.

Run as ``python -m tests.peers.credit_peer PORT CREDIT MODE``. It is written on
python-qpid-proton (an implementation independent of ours). Each link a client opens to it gets
CREDIT once, never topped up. MODE ``accept`` accepts and settles every message, ``hold`` leaves
every one unsettled with no outcome. MODE ``end-session:CONDITION`` or ``detach:CONDITION`` (e.g.
``end-session:amqp:internal-error``) accepts the first two messages and, at the third, ends that
link's session or detaches the link with CONDITION, leaving the rest without an outcome: a broker
fault, once (the peer accepts everything after it). A client's receiver gets three messages
(``s0``-``s2``) on each link it attaches; with an ``end-session`` or ``detach`` MODE the peer fails
so at the first acceptance, once. It prints one line per message
(``message ID``) so a test can read what arrived. ``CreditPeer`` runs it from a test: start(),
kill() (SIGKILL), pause() and resume() (SIGSTOP, SIGCONT: the process hangs with its sockets
open), stop().
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from proton import Condition, Message
from proton.handlers import MessagingHandler
from proton.reactor import Container

from .listener_process import ListenerProcess
from .ports import free_port


class Granter(MessagingHandler):  # type: ignore[misc]
    """The peer's handler: one grant per link, then accept or hold every message, or end the
    session or the link (``fault``: "end-session" or "detach") with ``condition`` once."""

    def __init__(self, port: int, credit: int, mode: str) -> None:
        super().__init__(prefetch=0, auto_accept=False, auto_settle=False)
        self.port = port
        self.credit = credit
        self.fault, _, self.condition = mode.partition(":")
        self.accept_all = mode != "hold"
        self.arrived = 0

    def on_start(self, event: Any) -> None:
        event.container.listen(f"127.0.0.1:{self.port}")

    def on_link_opening(self, event: Any) -> None:
        link = event.link
        if link.is_receiver:
            link.target.address = link.remote_target.address
            link.flow(self.credit)
        else:
            link.source.address = link.remote_source.address

    def on_sendable(self, event: Any) -> None:
        sender = event.sender
        if not getattr(sender, "served", False):
            sender.served = True
            for n in range(3):
                sender.send(Message(id=f"s{n}", body=f"s{n}"))

    def on_accepted(self, event: Any) -> None:
        print(f"accepted {event.delivery.tag}", flush=True)
        if self.condition:
            self.end(event)

    def on_message(self, event: Any) -> None:
        print(f"message {event.message.id}", flush=True)
        self.arrived += 1
        if self.condition and self.arrived == 3:
            self.end(event)
        elif self.accept_all:
            self.accept(event.delivery)

    def end(self, event: Any) -> None:
        """The fault: end the session or detach the link with the condition, then go on as
        ``accept`` (a second link opened later gets its grant and its outcomes)."""
        endpoint = event.session if self.fault == "end-session" else event.link
        endpoint.condition = Condition(self.condition, "the peer failed (a test fault)")
        endpoint.close()
        self.condition = ""
        print(f"ended {self.fault}", flush=True)


class CreditPeer(ListenerProcess):
    """The script as a child process on a fixed port."""

    def __init__(self, port: int, credit: int, mode: str = "accept") -> None:
        super().__init__(port)
        self.argv = [sys.executable, "-m", "tests.peers.credit_peer", str(port), str(credit), mode]

    def pause(self) -> None:
        """SIGSTOP: the peer stops answering, its sockets stay open."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)

    def messages(self) -> list[str]:
        """The ids of the messages that arrived, in order, over every run of the peer."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [line.split(" ", 1)[1] for line in lines if line.startswith("message ")]

    def stop(self) -> None:
        """Kill the peer if it runs (resuming it first) and remove its log."""
        self.resume()
        super().stop()


def main() -> None:
    """Run the peer with the command line's port, credit and mode until killed."""
    port, credit, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    Container(Granter(port, credit, mode)).run()



@contextmanager
def credit_peer(credit: int, mode: str) -> Iterator[CreditPeer]:
    """A started CreditPeer (``mode`` as the script's MODE) on a free port, stopped for sure."""
    peer = CreditPeer(free_port(), credit, mode)
    try:
        yield peer.start()
    finally:
        peer.stop()


if __name__ == "__main__":
    main()
