"""Send ten messages as credit allows, and match each outcome to the delivery send() returned."""

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Sender(MessagingHandler):
    def __init__(self, count):
        super().__init__()
        self.count = count
        self.sent = {}  # delivery -> message number
        self.accepted = 0

    def on_start(self, event):
        conn = event.container.connect("amqp://127.0.0.1:5672")
        event.container.create_sender(conn, "tracked")

    def on_sendable(self, event):
        while event.sender.credit and len(self.sent) < self.count:
            number = len(self.sent) + 1
            delivery = event.sender.send(Message(id=number, body=f"message {number}"))
            self.sent[delivery] = number

    def on_accepted(self, event):
        self.accepted += 1
        if self.accepted == self.count:
            print("all", self.count, "accepted; the last was", self.sent[event.delivery])
            event.connection.close()

    def on_rejected(self, event):
        print("message", self.sent[event.delivery], "rejected:", event.delivery.remote.condition)
        event.connection.close()


Container(Sender(10)).run()
