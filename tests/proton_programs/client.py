"""A request/response client: sends requests with a dynamic reply-to and prints each reply."""

import optparse

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container, DynamicNodeProperties


class Client(MessagingHandler):
    def __init__(self, url, requests):
        super().__init__()
        self.url = url
        self.requests = requests

    def on_start(self, event):
        self.sender = event.container.create_sender(self.url)
        self.receiver = event.container.create_receiver(
            self.sender.connection, None, dynamic=True,
            options=DynamicNodeProperties({"x-opt-lifetime-policy": "delete-on-close"}))

    def next_request(self):
        if self.receiver.remote_source.address:
            req = Message(reply_to=self.receiver.remote_source.address, body=self.requests[0],
                          correlation_id=len(self.requests))
            self.sender.send(req)

    def on_link_opened(self, event):
        if event.receiver == self.receiver:
            self.next_request()

    def on_message(self, event):
        print(f"{self.requests.pop(0)} => {event.message.body}")
        if self.requests:
            self.next_request()
        else:
            event.connection.close()


REQUESTS = ["Twas brillig, and the slithy toves",
            "Did gire and gymble in the wabe.",
            "All mimsy were the borogroves,",
            "And the mome raths outgrabe."]

parser = optparse.OptionParser(usage="usage: %prog [options]")
parser.add_option("-a", "--address", default="localhost:5672/examples",
                  help="address to which requests are sent (default %default)")
opts, args = parser.parse_args()

Container(Client(opts.address, REQUESTS)).run()
