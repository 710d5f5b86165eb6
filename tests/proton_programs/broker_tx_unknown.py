"""A transaction used after it was discharged: the broker no longer knows its id. One message
is sent in it and committed; then a message sent with its id is rejected, and committing it
again fails. Last, a declare asking for a distributed transaction (a global-id: the broker has
local transactions only) fails. Prints what the client was told."""

import sys

from proton import Message, symbol
from proton.handlers import MessagingHandler, TransactionHandler
from proton.reactor import Container, Transaction


class Distributed(Transaction):
    """A declare with a global-id (the transactional API always declares without one)."""

    def declare(self):
        self._declare = self._send_ctrl(symbol("amqp:declare:list"), [b"global-1"])


class Stale(MessagingHandler, TransactionHandler):
    def __init__(self, url, address):
        super().__init__()
        self.url = url
        self.address = address
        self.transaction = None
        self.late = None

    def on_start(self, event):
        self.container = event.container
        self.conn = self.container.connect(self.url)
        self.sender = self.container.create_sender(self.conn, self.address)
        self.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event):
        self.transaction = event.transaction
        self.transaction.send(self.sender, Message(body="in the transaction"))
        self.transaction.commit()

    def on_transaction_committed(self, event):
        print("committed")
        self.late = self.transaction.send(self.sender, Message(body="after the commit"))

    def on_rejected(self, event):
        if event.delivery == self.late:
            print("late send rejected:", event.delivery.remote.condition.name)
            self.transaction.commit()

    def on_transaction_commit_failed(self, event):
        print("second commit failed:", event.delivery.remote.condition.name)
        Distributed(self.transaction.txn_ctrl, self)

    def on_transaction_declare_failed(self, event):
        print("distributed declare failed:", event.delivery.remote.condition.name)
        self.conn.close()


Container(Stale(sys.argv[1], sys.argv[2])).run()
