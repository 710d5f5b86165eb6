"""A user and a password, with the SASL mechanisms the client may use restricted to one."""

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Login(MessagingHandler):
    def on_start(self, event):
        event.container.connect(
            "amqp://127.0.0.1:5672",
            user="alice@EXAMPLE.COM",
            password="secret",
            allowed_mechs="SCRAM-SHA-256",
        )

    def on_connection_opened(self, event):
        print("logged in with", event.transport.sasl().mech)
        event.connection.close()


Container(Login()).run()
