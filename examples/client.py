"""Request/response, the client: requests go out with a dynamic reply queue as ``reply_to``.

Opens a receiver with a dynamic source (the broker makes a temporary queue and names it),
then sends each request to ``--address`` with that name as ``reply_to`` and a ``correlation_id``,
and prints each request with its response. Run ``examples/server.py`` first.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container

REQUESTS = ["Twas brillig, and the slithy toves", "Did gire and gymble in the wabe.",
            "All mimsy were the borogroves,", "And the mome raths outgrabe."]


class Client(MessagingHandler):
    """Sends the requests once the reply queue exists; stops after the last response."""

    def __init__(self, url: str, address: str, requests: list[str]) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.requests = requests
        self.sender = None
        self.reply_to = None
        self.answered = 0

    def on_start(self, event):
        conn = event.container.connect(self.url)
        self.sender = event.container.create_sender(conn, self.address)
        event.container.create_receiver(conn, None, dynamic=True)

    def on_link_opened(self, event):
        if event.receiver is not None and event.link == event.receiver:
            self.reply_to = event.receiver.remote_source.address
            for number, body in enumerate(self.requests):
                self.sender.send(Message(body=body, reply_to=self.reply_to,
                                         correlation_id=number))

    def on_message(self, event):
        number = event.message.correlation_id
        print(f"{self.requests[number]} => {event.message.body}")
        self.answered += 1
        if self.answered == len(self.requests):
            event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="requests", help="the server's queue")
    args = parser.parse_args()
    Container(Client(args.url, args.address, REQUESTS)).run()


if __name__ == "__main__":
    main()
