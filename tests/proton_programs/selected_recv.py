"""Selected receive: send messages with a colour property, then receive through a Selector
filter, printing the body and colour of each message received."""

import optparse

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container, Selector


class Recv(MessagingHandler):
    def __init__(self, url, address, count):
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.received = 0

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_receiver(conn, self.address, options=Selector("colour = 'green'"))

    def on_message(self, event):
        if self.received < self.count:
            print(event.message.body, event.message.properties["colour"])
            self.received += 1
            if self.received == self.count:
                event.connection.close()


class Send(MessagingHandler):
    def __init__(self, url, address):
        super().__init__()
        self.url = url
        self.address = address
        self.messages = [Message(body=f"message {i}", properties={"colour": colour})
                         for i, colour in enumerate(["red", "green", "blue", "green"])]
        self.confirmed = 0

    def on_start(self, event):
        event.container.create_sender(event.container.connect(self.url), self.address)

    def on_sendable(self, event):
        while event.sender.credit and self.messages:
            event.sender.send(self.messages.pop(0))

    def on_accepted(self, event):
        self.confirmed += 1
        if self.confirmed == 4:
            event.connection.close()


parser = optparse.OptionParser(usage="usage: %prog [options] URL ADDRESS")
parser.add_option("-m", "--messages", type="int", default=2,
                  help="number of messages to receive (default %default)")
opts, args = parser.parse_args()
Container(Send(args[0], args[1])).run()
Container(Recv(args[0], args[1], opts.messages)).run()
