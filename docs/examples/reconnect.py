"""Reconnect policies: the default, none, a Backoff, a list of delays, or your own object."""

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container


class ExampleReconnect:
    """0 s, then 0.1 s doubling up to 10 s; next() raising StopIteration gives up."""

    def __init__(self):
        self.delay = 0

    def reset(self):
        self.delay = 0

    def next(self):
        if self.delay == 0:
            self.delay = 0.1
        else:
            self.delay = min(10, 2 * self.delay)
        return self.delay


class Connector(MessagingHandler):
    def on_start(self, event):
        url = "amqp://127.0.0.1:5672"
        for policy in (False, Backoff(max_tries=5), [0.1, 0.5, 1.0], ExampleReconnect()):
            event.container.connect(url, reconnect=policy)

    def on_connection_opened(self, event):
        print("connected")
        event.connection.close()


Container(Connector()).run()
