"""Failover: the first URL has nobody listening, so the connection goes to the second."""

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Failover(MessagingHandler):
    def on_start(self, event):
        event.container.connect(urls=["amqp://127.0.0.1:5673", "amqp://127.0.0.1:5672"])

    def on_transport_error(self, event):
        print("attempt failed:", event.transport.condition.name)

    def on_connection_opened(self, event):
        print("connected to", event.connection.connected_address)
        event.connection.close()


Container(Failover()).run()
