"""A tiny broker, run as a subprocess on either library: the loopback peer of the tests.

``python tests/peer_script.py --module amq_python|proton --url amqp://127.0.0.1:PORT`` imports
the library by name (importlib), listens on the URL and prints one JSON object per line:

- ``{"ready": true}`` once it listens (the tests wait for this line, never for the port);
- ``{"opened": ...}`` per incoming connection: the peer's container id, its idle timeout;
- ``{"message": ...}`` per received message, in the canonical form of ``canon_message``;
- ``{"outcome": ..., "body": ...}`` per message it sent that the client accepted, rejected or
  released (``body``: the message body, if a string, else its repr);
- ``{"closed": n}`` when the n-th connection closed; ``{"timeout": true}`` if the watchdog fired.

Messages it receives go on a queue per target address (the message's own address on an
anonymous link), unless the message's ``outcome`` application property says ``reject`` or
``release``; a receiver attaching to that address gets them (a dynamic source gets a fresh
address). It exits after ``--connections`` connections have closed (or the watchdog, with
code 3).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import uuid
from typing import Any


def canon(value: Any) -> Any:
    """A JSON form of an AMQP value that keeps its AMQP type (``ulong`` vs ``int``), so two
    libraries' decodings can be compared across processes."""
    name = type(value).__name__
    if repr(value) == "UNDESCRIBED":  # the constant's class name differs between the libraries
        return ["UNDESCRIBED"]
    if value is None or isinstance(value, bool):
        return [name, value]
    if isinstance(value, dict):
        return ["map", sorted(([canon(k), canon(v)] for k, v in value.items()), key=json.dumps)]
    if name == "Array":
        return ["Array", canon(value.descriptor), int(value.type),
                [canon(e) for e in value.elements]]
    if name == "Described":
        return ["Described", canon(value.descriptor), canon(value.value)]
    if isinstance(value, (list, tuple)):
        return ["list", [canon(e) for e in value]]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ["bytes", bytes(value).hex()]
    if isinstance(value, uuid.UUID):
        return ["UUID", str(value)]
    if isinstance(value, float):
        return [name, repr(float(value))]
    if isinstance(value, int):
        return [name, int(value)]
    if isinstance(value, str):
        return [name, str(value)]
    return [name, repr(value)]


FIELDS = (
    "id", "correlation_id", "subject", "address", "reply_to", "content_type", "content_encoding",
    "durable", "priority", "ttl", "user_id", "group_id", "group_sequence", "first_acquirer",
    "delivery_count", "creation_time", "expiry_time", "reply_to_group_id", "properties",
    "annotations", "instructions", "body",
)


def canon_message(message: Any) -> dict[str, Any]:
    """Every header, property and section of a message, canonical.

    python-qpid-proton reads an absent content-encoding as ``symbol('None')`` (it wraps the C
    NULL in ``symbol(str(...))``); amq_python gives None. Both mean "absent", so both become None.
    """
    record = {name: canon(getattr(message, name)) for name in FIELDS}
    if record["content_encoding"] == ["symbol", "None"]:
        record["content_encoding"] = ["NoneType", None]
    return record


def emit(**record: Any) -> None:
    print(json.dumps(record), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="amq_python")
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    handlers = importlib.import_module(args.module + ".handlers")
    reactor = importlib.import_module(args.module + ".reactor")

    class Broker(handlers.MessagingHandler):
        def __init__(self) -> None:
            super().__init__(auto_accept=False)
            self.queues: dict[str, list[Any]] = {}
            self.senders: dict[str, list[Any]] = {}
            self.closed = 0
            self.bodies: dict[str, Any] = {}

        def on_start(self, event: Any) -> None:
            self.acceptor = event.container.listen(args.url)
            self.watchdog = event.container.schedule(args.timeout, self)
            emit(ready=True)

        def on_timer_task(self, event: Any) -> None:
            emit(timeout=True)
            sys.stdout.flush()
            os._exit(3)

        def on_connection_opening(self, event: Any) -> None:
            transport = event.transport
            emit(opened={
                "remote_container": event.connection.remote_container,
                "remote_idle_timeout": transport.remote_idle_timeout if transport else None,
            })

        def on_link_opening(self, event: Any) -> None:
            link = event.link
            if link.is_sender:
                source = link.remote_source
                address = f"dynamic-{uuid.uuid4()}" if source.dynamic else source.address
                link.source.address = address
                self.senders.setdefault(address, []).append(link)
            else:
                link.target.address = link.remote_target.address

        def on_sendable(self, event: Any) -> None:
            self.pump(event.sender.source.address)

        def pump(self, address: str) -> None:
            queue = self.queues.get(address, [])
            for sender in list(self.senders.get(address, [])):
                try:
                    open_both = sender.state == sender.LOCAL_ACTIVE | sender.REMOTE_ACTIVE
                except Exception:  # its connection is gone: forget it
                    open_both = False
                if not open_both:
                    self.senders[address].remove(sender)
                    continue
                while queue and sender.credit > 0:
                    message = queue.pop(0)
                    self.bodies[sender.send(message).tag] = message.body

        def on_message(self, event: Any) -> None:
            message = event.message
            emit(message=canon_message(message))
            outcome = (message.properties or {}).get("outcome", "accept")
            if outcome == "reject":
                self.reject(event.delivery)
            elif outcome == "release":
                self.release(event.delivery, delivered=False)
            else:
                self.accept(event.delivery)
                # An anonymous link (no target address) routes by the message's address.
                address = event.receiver.target.address or message.address
                self.queues.setdefault(address, []).append(message)
                self.pump(address)

        def on_accepted(self, event: Any) -> None:
            self.outcome("accepted", event)

        def on_rejected(self, event: Any) -> None:
            self.outcome("rejected", event)

        def on_released(self, event: Any) -> None:
            self.outcome("released", event)

        def outcome(self, name: str, event: Any) -> None:
            body = self.bodies.pop(event.delivery.tag, None)
            emit(outcome=name, body=body if isinstance(body, str) else repr(body))

        def on_connection_closed(self, event: Any) -> None:
            self.connection_gone()

        def on_disconnected(self, event: Any) -> None:
            self.connection_gone()

        def connection_gone(self) -> None:
            self.closed += 1
            emit(closed=self.closed)
            if self.closed >= args.connections:
                self.acceptor.close()
                self.watchdog.cancel()

    reactor.Container(Broker()).run()


if __name__ == "__main__":
    main()
