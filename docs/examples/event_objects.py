"""A container with an identity, and the objects each event carries."""

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    def on_start(self, event):
        conn = event.container.connect("amqp://127.0.0.1:5672")
        event.container.create_sender(conn, "events")

    def on_connection_opened(self, event):
        print("connection open, container", event.container.container_id)

    def on_sendable(self, event):
        print("sendable on", event.sender.target.address)
        event.sender.send(Message(body="ping"))
        event.sender.close()

    def on_link_closed(self, event):
        print("link closed; event.message is", event.message)
        event.connection.close()


Container(ExampleHandler(), container_id="job-processor-3").run()
