"""Transactional receive: messages accepted in a transaction that is aborted come back; accepted
in one that commits, they are gone."""

import sys

from proton import Message, Timeout
from proton.handlers import TransactionalClientHandler
from proton.reactor import Container
from proton.utils import BlockingConnection


class TxRecv(TransactionalClientHandler):
    def __init__(self, url, address, count, actions):
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.actions = actions
        self.transaction = None
        self.waiting = []
        self.accepted = 0

    def on_start(self, event):
        self.container = event.container
        self.conn = self.container.connect(self.url)
        self.receiver = self.container.create_receiver(self.conn, self.address)
        self.container.declare_transaction(self.conn, handler=self)

    def on_message(self, event):
        print("received", event.message.body)
        self.waiting.append(event.delivery)
        self.accept_waiting()

    def on_transaction_declared(self, event):
        self.transaction = event.transaction
        self.accept_waiting()

    def accept_waiting(self):
        while self.transaction and self.waiting:
            self.accept(self.waiting.pop(0), self.transaction)
            self.accepted += 1
        if self.transaction and self.accepted == self.count:
            transaction, self.transaction = self.transaction, None
            self.accepted = 0
            if self.actions[0] == "commit":
                transaction.commit()
            else:
                transaction.abort()

    def on_transaction_committed(self, event):
        self.next("committed")

    def on_transaction_aborted(self, event):
        self.next("aborted")

    def next(self, what):
        print(what, self.count)
        self.actions.pop(0)
        if self.actions:
            self.container.declare_transaction(self.conn, handler=self)
        else:
            self.conn.close()


url, address = sys.argv[1], sys.argv[2]
conn = BlockingConnection(url, timeout=10)
sender = conn.create_sender(address)
for i in range(3):
    sender.send(Message(body=f"message {i}"))
conn.close()

Container(TxRecv(url, address, 3, ["abort", "commit"])).run()

conn = BlockingConnection(url, timeout=10)
receiver = conn.create_receiver(address)
try:
    print("left on the queue:", receiver.receive(timeout=1).body)
except Timeout:
    print("the queue is empty")
conn.close()
