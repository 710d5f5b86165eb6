"""A request/response server: answers each request on its reply-to address, upper-cased."""

import optparse
import sys

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container


class Server(MessagingHandler):
    def __init__(self, url, address, count):
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.handled = 0
        self.settled = 0

    def on_start(self, event):
        print("Listening on", self.address)
        sys.stdout.flush()
        self.container = event.container
        self.conn = event.container.connect(self.url)
        self.receiver = event.container.create_receiver(self.conn, self.address)
        self.server = self.container.create_sender(self.conn, None)

    def on_message(self, event):
        print("Received", event.message.body)
        sys.stdout.flush()
        self.server.send(Message(address=event.message.reply_to,
                                 body=event.message.body.upper(),
                                 correlation_id=event.message.correlation_id))
        self.handled += 1
        if self.handled == self.count:
            self.receiver.close()

    def on_settled(self, event):
        if event.link.is_sender:
            self.settled += 1
            if self.settled == self.count:
                event.connection.close()


parser = optparse.OptionParser(usage="usage: %prog [options]")
parser.add_option("-a", "--address", default="localhost:5672/examples",
                  help="address from which requests are received (default %default)")
parser.add_option("-m", "--messages", type="int", default=4,
                  help="number of requests to serve before stopping (default %default)")
opts, args = parser.parse_args()
url, _, path = opts.address.partition("/")
Container(Server(url, path, opts.messages)).run()
