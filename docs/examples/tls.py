"""TLS: an amqps URL, with the server's certificate checked against our CA and its host name."""

from amq_python import SSLDomain
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Secure(MessagingHandler):
    def on_start(self, event):
        domain = SSLDomain(SSLDomain.MODE_CLIENT)
        domain.set_trusted_ca_db("ca.pem")
        domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
        event.container.connect("amqps://localhost:5671", ssl_domain=domain)

    def on_connection_opened(self, event):
        ssl = event.transport.ssl()
        print("encrypted:", ssl.protocol_name() is not None)
        event.connection.close()


Container(Secure()).run()
