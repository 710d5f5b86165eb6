"""Seed 5.4.1, securing connections with TLS: an ``amqps://`` URL.

Connects to ``--url`` (amqps) and prints the negotiated protocol and cipher. With ``--ca`` the
server's certificate is verified against that CA file and its host name checked; without it the
system's default client settings apply.
"""

from __future__ import annotations

import argparse

from amq_python import SSLDomain
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Opens one TLS connection and reports it."""

    def __init__(self, url: str, ca: str | None) -> None:
        super().__init__()
        self.url = url
        self.ca = ca

    def on_start(self, event):
        if self.ca is None:
            event.container.connect(self.url)
            return
        domain = SSLDomain(SSLDomain.MODE_CLIENT)
        domain.set_trusted_ca_db(self.ca)
        domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
        event.container.connect(self.url, ssl_domain=domain)

    def on_connection_opened(self, event):
        ssl = event.connection.transport.ssl()
        print("TLS connection open:", ssl.protocol_name(), ssl.cipher_name())
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqps://localhost:5671", help="the broker (amqps)")
    parser.add_argument("--ca", help="PEM file of the CA that signed the server's certificate")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.ca)).run()


if __name__ == "__main__":
    main()
