"""Connect with TLS (seed 5.4.1), verifying the server, and send one message.

``amqps://`` turns TLS on. By default the server's certificate must be signed by a CA the system
trusts and must name the host in the URL; ``--ca`` trusts a private CA instead,
``--no-verify-name`` checks the CA only, ``--cert``/``--key``/``--key-password`` present a client
certificate (then ``--mechs EXTERNAL`` logs in as that certificate). Run with, for example:
``python examples/tls_client.py --url amqps://localhost:5671 --ca ca.pem``.
"""

from __future__ import annotations

import argparse
from typing import Any

from amq_python import Message, SSLDomain
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class TlsSend(MessagingHandler):
    """Sends one message over TLS and prints what the connection negotiated."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.failed = False

    def on_start(self, event: Any) -> None:
        args = self.args
        domain = SSLDomain(SSLDomain.MODE_CLIENT)
        if args.ca:
            domain.set_trusted_ca_db(args.ca)
        if args.no_verify_name:
            domain.set_peer_authentication(SSLDomain.VERIFY_PEER, args.ca)
        if args.cert:
            domain.set_credentials(args.cert, args.key, args.key_password)
        options = {"allowed_mechs": args.mechs} if args.mechs else {}
        connection = event.container.connect(args.url, ssl_domain=domain, **options)
        event.container.create_sender(connection, args.address)

    def on_connection_opened(self, event: Any) -> None:
        ssl = event.transport.ssl()
        print(f"connected: {ssl.protocol_name()} {ssl.cipher_name()}, server "
              f"{ssl.get_cert_subject()}, SASL {event.transport.sasl().mech}")

    def on_sendable(self, event: Any) -> None:
        event.sender.send(Message(body="Hello over TLS"))
        event.sender.close()

    def on_accepted(self, event: Any) -> None:
        print("the message was accepted")
        event.connection.close()

    def on_transport_error(self, event: Any) -> None:
        print(f"failed: {event.transport.condition}")
        self.failed = True
        event.connection.close()


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="amqps://localhost:5671")
    parser.add_argument("--address", default="examples", help="where to send the message")
    parser.add_argument("--ca", help="PEM file of the CA that signed the server certificate")
    parser.add_argument("--no-verify-name", action="store_true",
                        help="check the CA only, not the host name")
    parser.add_argument("--cert", help="client certificate (PEM)")
    parser.add_argument("--key", help="client private key (PEM)")
    parser.add_argument("--key-password", help="password of an encrypted client key")
    parser.add_argument("--mechs", help='allowed SASL mechanisms, e.g. "EXTERNAL"')
    handler = TlsSend(parser.parse_args())
    Container(handler).run()
    raise SystemExit(1 if handler.failed else 0)


if __name__ == "__main__":
    main()
