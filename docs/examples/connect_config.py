"""connect() with no URL: the options come from connect.json."""

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Configured(MessagingHandler):
    def on_start(self, event):
        event.container.connect()

    def on_connection_opened(self, event):
        print("connected with", event.transport.sasl().mech)
        event.connection.close()


Container(Configured()).run()
