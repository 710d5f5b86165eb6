"""A tiny AMQP broker written with python-qpid-proton, run as a separate process for tests.

It is an independent peer: the client under test (amq_python) shares no code or process with
it, so a test that passes against it shows interoperability, not agreement with itself.

Behaviour, per address:
- messages sent to an address are queued and handed to its receivers in order, as credit allows;
  a link with no target address routes each message by its ``address`` field;
- a receiver asking for a dynamic source gets a fresh address;
- ``reject`` / ``release`` / ``modify``: every message sent there gets that outcome;
- ``close-link``: a message sent there makes the broker close the sender's link with an error;
- ``close-connection``: a message sent there makes the broker close the connection with an error;
- ``no-such-node``: attaching there is refused (the link opens and closes with amqp:not-found);
- a message its receiver releases or modifies goes back to the head of its queue;
- ``upper``: a request service; it answers to ``reply_to`` with the body upper-cased and the
  request's ``correlation_id``.

Run as ``python -m tests.peers.proton_broker PORT [CERT KEY]``; with a certificate and key it
listens with TLS only (amqps). It prints ``READY`` once it listens.
Tests use the ``ProtonBroker`` context manager, which starts and stops the process.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.peers.ports import free_port, wait_for_port
from tests.peers.procs import stop_group

_ROOT = Path(__file__).resolve().parents[2]


class ProtonBroker:
    """Runs the broker in a subprocess on a free loopback port; ``url`` is where it listens."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.port = free_port()
        self.tls = tls
        self.url = f"{'amqps' if tls else 'amqp'}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ProtonBroker:
        """Start the process and wait until it accepts connections (at most 20 s)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.peers.proton_broker", str(self.port)]
            + ([str(part) for part in self.tls] if self.tls else []),
            cwd=_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_for_port(self.port, 20):
            self.stop()
            raise RuntimeError(f"the proton broker did not start listening on {self.port}")
        return self

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self.proc is not None:
            stop_group(self.proc, grace=5)
            self.proc = None

    def __enter__(self) -> ProtonBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _serve(port: int, tls: list[str]) -> None:
    """The broker itself (python-qpid-proton), listening on 127.0.0.1:port until killed; with
    TLS when ``tls`` is [certificate file, key file]."""
    from proton import Condition, Delivery, Endpoint, Message, SSLDomain
    from proton.handlers import MessagingHandler
    from proton.reactor import Container

    outcomes = {
        "reject": Delivery.REJECTED,
        "release": Delivery.RELEASED,
        "modify": Delivery.MODIFIED,
    }

    class Broker(MessagingHandler):
        def __init__(self) -> None:
            super().__init__(auto_accept=False)
            self.queues: dict[str, collections.deque[Message]] = collections.defaultdict(
                collections.deque
            )
            self.consumers: dict[str, list[Any]] = collections.defaultdict(list)
            self.refused: set[Any] = set()
            self.in_flight: dict[Any, tuple[str, Message]] = {}

        def on_start(self, event: Any) -> None:
            if tls:
                domain = SSLDomain(SSLDomain.MODE_SERVER)
                domain.set_credentials(tls[0], tls[1], None)
                event.container.listen(f"amqps://127.0.0.1:{port}", ssl_domain=domain)
            else:
                event.container.listen(f"127.0.0.1:{port}")
            print("READY", flush=True)

        def on_link_opening(self, event: Any) -> None:
            link = event.link
            if link.is_sender:
                if link.remote_source.dynamic:
                    address = f"dynamic-{uuid.uuid4().hex[:12]}"
                else:
                    address = link.remote_source.address
                link.source.address = address
                if address == "no-such-node":
                    self._refuse(link, link.source)
                    return
                if address:
                    self.consumers[address].append(link)
            else:
                link.target.address = link.remote_target.address
                if link.target.address == "no-such-node":
                    self._refuse(link, link.target)

        def _refuse(self, link: Any, terminus: Any) -> None:
            """Attach with a null terminus, then detach with amqp:not-found (AMQP's way to
            refuse a link); the detach goes out once the attach has."""
            terminus.address = None
            link.open()
            self.refused.add(link)

        def on_link_opened(self, event: Any) -> None:
            if event.link in self.refused:
                self.refused.discard(event.link)
                event.link.condition = Condition("amqp:not-found", "no such node")
                event.link.close()

        def _forget(self, link: Any) -> None:
            if link.is_sender and link.source.address in self.consumers:
                consumers = self.consumers[link.source.address]
                if link in consumers:
                    consumers.remove(link)

        def on_link_closing(self, event: Any) -> None:
            self._forget(event.link)

        def on_connection_closing(self, event: Any) -> None:
            self._remove_all(event.connection)

        def on_disconnected(self, event: Any) -> None:
            self._remove_all(event.connection)

        def _remove_all(self, connection: Any) -> None:
            link = connection.link_head(Endpoint.REMOTE_ACTIVE)
            while link:
                self._forget(link)
                link = link.next(Endpoint.REMOTE_ACTIVE)

        def on_sendable(self, event: Any) -> None:
            self._pump(event.link.source.address)

        def _pump(self, address: str) -> None:
            queue = self.queues[address]
            for link in self.consumers.get(address, []):
                while queue and link.credit > 0:
                    message = queue.popleft()
                    self.in_flight[link.send(message)] = (address, message)

        def on_settled(self, event: Any) -> None:
            self.in_flight.pop(event.delivery, None)

        def on_released(self, event: Any) -> None:
            found = self.in_flight.pop(event.delivery, None)
            if found is not None:
                address, message = found
                self.queues[address].appendleft(message)
                self._pump(address)

        def on_message(self, event: Any) -> None:
            message = event.message
            address = event.link.target.address or message.address
            if address in outcomes:
                self.settle(event.delivery, outcomes[address])
                return
            if address == "close-link":
                event.link.condition = Condition("amqp:internal-error", "closed by request")
                event.link.close()
                return
            if address == "close-connection":
                event.connection.condition = Condition("amqp:internal-error", "closed by request")
                event.connection.close()
                return
            self.accept(event.delivery)
            if address == "upper":
                reply = Message(
                    address=message.reply_to,
                    body=str(message.body).upper(),
                    correlation_id=message.correlation_id,
                )
                self.queues[message.reply_to].append(reply)
                self._pump(message.reply_to)
                return
            self.queues[address].append(message)
            self._pump(address)

    Container(Broker()).run()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2:])
