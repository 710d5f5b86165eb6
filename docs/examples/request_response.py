"""Request and response: a service answers on the queue "requests"; a client sends requests
with a reply_to of its own temporary queue and matches answers by correlation_id."""

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class UppercaseService(MessagingHandler):
    def __init__(self, connection):
        super().__init__()
        self.connection = connection

    def on_message(self, event):
        request = event.message
        reply = Message(body=request.body.upper(), correlation_id=request.correlation_id)
        reply.address = request.reply_to
        self.replies.send(reply)

    def start(self, container):
        container.create_receiver(self.connection, "requests", handler=self)
        self.replies = container.create_sender(self.connection, None)  # to each reply_to


class Client(MessagingHandler):
    def __init__(self, words):
        super().__init__()
        self.words = list(words)
        self.answers = len(self.words)
        self.reply_to = None

    def on_start(self, event):
        self.connection = event.container.connect("amqp://127.0.0.1:5672")
        UppercaseService(self.connection).start(event.container)
        self.sender = event.container.create_sender(self.connection, "requests")
        self.receiver = event.container.create_receiver(self.connection, None, dynamic=True)

    def on_link_opened(self, event):
        if event.receiver is self.receiver:  # the peer has named our temporary queue
            self.reply_to = self.receiver.remote_source.address
            self.send_requests()

    def on_sendable(self, event):
        if event.sender is self.sender:
            self.send_requests()

    def send_requests(self):
        while self.reply_to and self.words and self.sender.credit:
            number = self.answers - len(self.words)
            word = self.words.pop(0)
            self.sender.send(Message(body=word, reply_to=self.reply_to, correlation_id=number))

    def on_message(self, event):
        print(event.message.correlation_id, event.message.body)
        if event.message.correlation_id == self.answers - 1:
            self.connection.close()


Container(Client(["hello", "world"])).run()
