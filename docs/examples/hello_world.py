"""Hello world: send one message to the "examples" queue and receive it back."""

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class HelloWorld(MessagingHandler):
    def __init__(self, url, address):
        super().__init__()
        self.url = url
        self.address = address

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_receiver(conn, self.address)
        event.container.create_sender(conn, self.address)

    def on_sendable(self, event):
        event.sender.send(Message(body="Hello World!"))
        event.sender.close()

    def on_message(self, event):
        print(event.message.body)
        event.connection.close()


Container(HelloWorld("amqp://127.0.0.1:5672", "examples")).run()
