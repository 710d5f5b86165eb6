"""A forwarding AMQP peer run as a process, so tests can SIGKILL it and restart it on its port.

Run as ``python -m tests.peers.listener_process PORT [--refuse]``. It is written on
python-qpid-proton (an implementation independent of ours). Messages from senders wait, unsettled,
until a receiver on the same address accepts them; only then is the sender's delivery accepted.
So a kill loses nothing a sender saw accepted: what a test sees lost is the client's fault. Its
container id is ``peer-PORT``, so a client can tell which peer it reached. With ``--refuse`` it
closes every connection with ``amqp:unauthorized-access``.
``ListenerProcess`` starts, kills and restarts the script from a test; ``listeners`` gives
running ones that are always stopped; ``watchdog`` bounds a test's ``run()``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from proton import Condition, Delivery
from proton.handlers import MessagingHandler
from proton.reactor import Container

from .ports import free_port, wait_for_port
from .procs import start_group, stop_group, tail

ROOT = Path(__file__).resolve().parents[2]

WINDOW = 200


class Forwarder(MessagingHandler):  # type: ignore[misc]
    """The peer's handler: queues of unsettled incoming deliveries, settled end to end."""

    def __init__(self, port: int, refuse: bool) -> None:
        super().__init__(prefetch=0, auto_accept=False, auto_settle=False)
        self.port = port
        self.refuse = refuse
        self.queues: dict[str, deque[tuple[Any, Any]]] = defaultdict(deque)
        self.consumers: dict[str, list[Any]] = defaultdict(list)

    def on_start(self, event: Any) -> None:
        event.container.listen(f"127.0.0.1:{self.port}")

    def on_connection_init(self, event: Any) -> None:
        event.connection.container = f"peer-{self.port}"

    def on_connection_opened(self, event: Any) -> None:
        if self.refuse:
            event.connection.condition = Condition(
                "amqp:unauthorized-access", "this peer refuses everyone"
            )
            event.connection.close()

    def on_link_opening(self, event: Any) -> None:
        link = event.link
        if link.is_sender:
            address = link.remote_source.address
            link.source.address = address
            self.consumers[address].append(link)
        else:
            link.target.address = link.remote_target.address
            link.flow(WINDOW)

    def on_message(self, event: Any) -> None:
        address = event.link.target.address
        self.queues[address].append((event.delivery, event.message))
        self.pump(address)

    def on_sendable(self, event: Any) -> None:
        self.pump(event.link.source.address)

    def pump(self, address: str) -> None:
        queue = self.queues[address]
        for link in self.consumers[address]:
            while queue and link.credit > 0:
                inbound, message = queue.popleft()
                if inbound.settled or inbound.link.state & inbound.link.LOCAL_CLOSED:
                    continue
                outbound = link.send(message)
                outbound.inbound = inbound
                outbound.message = message

    def on_accepted(self, event: Any) -> None:
        inbound = event.delivery.inbound
        event.delivery.settle()
        if not inbound.settled:
            inbound.update(Delivery.ACCEPTED)
            inbound.settle()
            inbound.link.flow(1)

    def on_released(self, event: Any) -> None:
        self.requeue(event.delivery)
        event.delivery.settle()

    def requeue(self, outbound: Any) -> None:
        address = outbound.link.source.address
        self.queues[address].appendleft((outbound.inbound, outbound.message))
        self.pump(address)

    def forget(self, connection: Any) -> None:
        for links in self.consumers.values():
            links[:] = [link for link in links if link.connection != connection]

    def on_disconnected(self, event: Any) -> None:
        self.forget(event.connection)

    def on_connection_closing(self, event: Any) -> None:
        self.forget(event.connection)


def main() -> None:
    """Run the peer on the port given on the command line until killed."""
    port = int(sys.argv[1])
    Container(Forwarder(port, "--refuse" in sys.argv[2:])).run()


class ListenerProcess:
    """The script as a child process on a fixed port: start(), kill() (SIGKILL), stop()."""

    def __init__(self, port: int, refuse: bool = False) -> None:
        self.port = port
        self.url = f"amqp://127.0.0.1:{port}"
        module = "tests.peers.listener_process"
        self.argv = [sys.executable, "-m", module, str(port)] + ["--refuse"] * refuse
        self.log = Path(tempfile.mkstemp(prefix=f"amqpy-peer-{port}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ListenerProcess:
        """Start the peer and wait until its port accepts connections."""
        self.proc = start_group(self.argv, {"PATH": "/usr/bin:/bin"}, self.log, cwd=ROOT)
        if not wait_for_port(self.port, 10):
            raise RuntimeError(f"peer on port {self.port} did not start:\n{tail(self.log)}")
        return self

    def kill(self) -> None:
        """SIGKILL the peer: its sockets drop with no AMQP close."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        """Kill the peer if it runs and remove its log."""
        if self.proc is not None:
            stop_group(self.proc, grace=0)
            self.proc = None
        self.log.unlink(missing_ok=True)


@contextmanager
def listeners(count: int) -> Iterator[list[ListenerProcess]]:
    """``count`` running peers on free ports, all killed and cleaned up on exit."""
    peers = [ListenerProcess(free_port()) for _ in range(count)]
    try:
        for peer in peers:
            peer.start()
        yield peers
    finally:
        for peer in peers:
            peer.stop()


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the main thread after ``seconds`` (SIGALRM), so a hung run() fails
    fast; an outer alarm (pytest-timeout's) is restored with its remaining time."""

    def expired(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"watchdog: still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    outer, _interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            left = outer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(0.001, left))


if __name__ == "__main__":
    main()
