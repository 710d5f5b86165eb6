"""Kerberos: after `kinit USER@REALM`, log in with GSSAPI; the ticket replaces a password."""

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Kerberos(MessagingHandler):
    def on_start(self, event):
        event.container.connect("amqp://localhost:5672", allowed_mechs="GSSAPI")

    def on_connection_opened(self, event):
        print("logged in with", event.transport.sasl().mech)
        event.connection.close()


Container(Kerberos()).run()
