"""Queue browser: look at the messages on a queue without taking them (the Copy option), twice,
then take them."""

import optparse

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container, Copy


class Browse(MessagingHandler):
    def __init__(self, url, address, count, copy):
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.copy = copy
        self.seen = 0

    def on_start(self, event):
        conn = event.container.connect(self.url)
        options = Copy() if self.copy else None
        event.container.create_receiver(conn, self.address, options=options)

    def on_message(self, event):
        print("browsed" if self.copy else "taken", event.message.body)
        self.seen += 1
        if self.seen == self.count:
            event.connection.close()


class Fill(MessagingHandler):
    def __init__(self, url, address, count):
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.left = count
        self.confirmed = 0

    def on_start(self, event):
        event.container.create_sender(event.container.connect(self.url), self.address)

    def on_sendable(self, event):
        while event.sender.credit and self.left:
            self.left -= 1
            event.sender.send(Message(body=f"item {self.left}"))

    def on_accepted(self, event):
        self.confirmed += 1
        if self.confirmed == self.count:
            event.connection.close()


parser = optparse.OptionParser(usage="usage: %prog [options] URL ADDRESS")
parser.add_option("-m", "--messages", type="int", default=3,
                  help="number of messages on the queue (default %default)")
opts, args = parser.parse_args()
Container(Fill(args[0], args[1], opts.messages)).run()
Container(Browse(args[0], args[1], opts.messages, copy=True)).run()
Container(Browse(args[0], args[1], opts.messages, copy=True)).run()
Container(Browse(args[0], args[1], opts.messages, copy=False)).run()
