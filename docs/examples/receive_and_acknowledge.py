"""Receive with auto_accept=False and settle each delivery yourself: accept even numbers,
reject the others (a rejected message is not delivered again)."""

from amq_python import ACCEPTED, REJECTED, Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Receiver(MessagingHandler):
    def __init__(self, count):
        super().__init__(auto_accept=False)
        self.count = count
        self.received = 0

    def on_start(self, event):
        conn = event.container.connect("amqp://127.0.0.1:5672")
        event.container.create_receiver(conn, "acks")
        event.container.create_sender(conn, "acks")

    def on_sendable(self, event):
        for number in range(self.count):
            event.sender.send(Message(body=number))
        event.sender.close()

    def on_message(self, event):
        number = event.message.body
        if number % 2 == 0:
            event.delivery.update(ACCEPTED)
            print(number, "accepted")
        else:
            event.delivery.update(REJECTED)
            print(number, "rejected")
        event.delivery.settle()
        self.received += 1
        if self.received == self.count:
            event.connection.close()


Container(Receiver(4)).run()
