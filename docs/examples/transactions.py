"""Send three messages in a transaction and commit it: the broker enqueues them on commit."""

from amq_python import Message
from amq_python.handlers import MessagingHandler, TransactionHandler
from amq_python.reactor import Container


class TransactionalSender(MessagingHandler, TransactionHandler):
    def on_start(self, event):
        self.conn = event.container.connect("amqp://127.0.0.1:5672")
        self.sender = event.container.create_sender(self.conn, "tx-examples")
        event.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event):
        for number in range(3):
            event.transaction.send(self.sender, Message(body=number))
        event.transaction.commit()

    def on_transaction_committed(self, event):
        print("committed")
        self.conn.close()

    def on_transaction_aborted(self, event):
        print("aborted")
        self.conn.close()


Container(TransactionalSender()).run()
