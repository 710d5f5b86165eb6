"""A program that is its own peer: it listens, connects to itself, and sends itself a message."""

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Loopback(MessagingHandler):
    def on_start(self, event):
        self.acceptor = event.container.listen("amqp://127.0.0.1:5672")
        conn = event.container.connect("amqp://127.0.0.1:5672")
        event.container.create_sender(conn, "loopback")

    def on_sendable(self, event):
        event.sender.send(Message(body="to myself"))
        event.sender.close()

    def on_message(self, event):  # the listening side's receiver gets it
        print("received", event.message.body)

    def on_accepted(self, event):
        event.connection.close()
        self.acceptor.close()


Container(Loopback()).run()
