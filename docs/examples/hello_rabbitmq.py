"""Hello world against RabbitMQ's AMQP 1.0 plugin: a queue address, the guest login over PLAIN."""

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class HelloWorld(MessagingHandler):
    def on_start(self, event):
        conn = event.container.connect(
            "amqp://127.0.0.1:5672",
            user="guest",
            password="guest",
            allowed_mechs="PLAIN",
        )
        event.container.create_receiver(conn, "/queue/examples")
        event.container.create_sender(conn, "/queue/examples")

    def on_sendable(self, event):
        event.sender.send(Message(body="Hello RabbitMQ!"))
        event.sender.close()

    def on_message(self, event):
        print(event.message.body)
        event.connection.close()


Container(HelloWorld()).run()
