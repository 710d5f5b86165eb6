"""Request/response, the server: answers each request on its ``reply_to`` address.

Receives requests from ``--address`` ("requests") at ``--url``, and sends each body back in
upper case to the request's ``reply_to``, with the request's ``correlation_id`` (falling back to
its ``id``), through one anonymous sender. Stops after ``--count`` requests (0: never).
Run ``examples/client.py`` against the same broker.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Server(MessagingHandler):
    """Upper-cases request bodies."""

    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.served = 0
        self.sender = None

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_receiver(conn, self.address)
        self.sender = event.container.create_sender(conn, None)  # anonymous: any reply_to

    def on_link_opened(self, event):
        if event.link == event.receiver:
            print("server listening on", self.address, flush=True)

    def on_message(self, event):
        request = event.message
        correlation_id = request.id if request.correlation_id is None else request.correlation_id
        reply = Message(
            address=request.reply_to, body=str(request.body).upper(), correlation_id=correlation_id
        )
        self.sender.send(reply)
        self.served += 1
        if self.count and self.served == self.count:
            event.receiver.close()

    def on_accepted(self, event):
        if self.count and self.served == self.count:
            event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="requests", help="the queue of requests")
    parser.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    args = parser.parse_args()
    Container(Server(args.url, args.address, args.count)).run()


if __name__ == "__main__":
    main()
