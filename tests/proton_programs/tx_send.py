"""Transactional send: batches of messages sent in transactions, committed or aborted; then
what the queue holds (only the committed messages)."""

import sys

from proton import Message, Timeout
from proton.handlers import MessagingHandler, TransactionHandler
from proton.reactor import Container
from proton.utils import BlockingConnection


class TxSend(MessagingHandler, TransactionHandler):
    def __init__(self, url, address, batches):
        super().__init__()
        self.url = url
        self.address = address
        self.batches = batches
        self.transaction = None
        self.to_send = 0

    def on_start(self, event):
        self.container = event.container
        self.conn = self.container.connect(self.url)
        self.sender = self.container.create_sender(self.conn, self.address)
        self.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event):
        self.transaction = event.transaction
        self.to_send = self.batches[0][1]
        self.send()

    def on_sendable(self, event):
        self.send()

    def send(self):
        action, count = self.batches[0]
        while self.transaction and self.to_send and self.sender.credit:
            self.to_send -= 1
            self.transaction.send(self.sender, Message(body=f"{action} {count - self.to_send}"))
        if self.transaction and not self.to_send:
            transaction, self.transaction = self.transaction, None
            if action == "commit":
                transaction.commit()
            else:
                transaction.abort()

    def on_transaction_committed(self, event):
        self.next_batch("committed")

    def on_transaction_aborted(self, event):
        self.next_batch("aborted")

    def next_batch(self, what):
        print(what, self.batches.pop(0)[1])
        if self.batches:
            self.container.declare_transaction(self.conn, handler=self)
        else:
            self.conn.close()


url, address = sys.argv[1], sys.argv[2]
Container(TxSend(url, address, [("commit", 2), ("abort", 3), ("commit", 1)])).run()

conn = BlockingConnection(url, timeout=10)
receiver = conn.create_receiver(address)
try:
    while True:
        print("on the queue:", receiver.receive(timeout=1).body)
        receiver.accept()
except Timeout:
    pass
conn.close()
