"""Hello world on loopback with no broker: one container listens on PORT and connects to
itself, sends one message and prints it when it arrives."""

import sys

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container


class Loopback(MessagingHandler):
    def __init__(self, url):
        super().__init__()
        self.url = url

    def on_start(self, event):
        self.acceptor = event.container.listen(self.url)
        event.container.create_sender(self.url + "/greetings")

    def on_sendable(self, event):
        event.sender.send(Message(body="Hello World!"))
        event.sender.close()

    def on_message(self, event):
        print(event.message.body)

    def on_link_closed(self, event):
        if event.link.is_sender:
            event.connection.close()
            self.acceptor.close()


Container(Loopback(f"127.0.0.1:{sys.argv[1]}")).run()
