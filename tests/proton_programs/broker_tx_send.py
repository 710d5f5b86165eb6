"""Transactional send through a broker: one batch per transaction, each committed or aborted
as planned (``commit:10,abort:10``), then one plain (non-transactional) message; prints each
discharge, then how the broker answered the transfers (the remote state codes of the settled
deliveries, counted)."""

import sys
from collections import Counter

from proton import Message
from proton.handlers import MessagingHandler, TransactionHandler
from proton.reactor import Container


class TxSend(MessagingHandler, TransactionHandler):
    def __init__(self, url, address, plan):
        super().__init__()
        self.url = url
        self.address = address
        self.plan = plan
        self.batch = 0
        self.sent = 0
        self.transaction = None
        self.answers = Counter()
        self.accepted = 0
        self.plain = None

    def on_start(self, event):
        self.container = event.container
        self.conn = self.container.connect(self.url)
        self.sender = self.container.create_sender(self.conn, self.address)
        self.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event):
        self.transaction = event.transaction
        self.sent = 0
        self.send()

    def on_sendable(self, event):
        self.send()

    def send(self):
        if not self.transaction:
            return
        action, count = self.plan[self.batch]
        while self.transaction and self.sent < count and self.sender.credit:
            self.sent += 1
            body = f"{action}-{self.batch}-{self.sent}"
            self.transaction.send(self.sender, Message(body=body))
        if self.transaction and self.sent == count:
            transaction, self.transaction = self.transaction, None
            if action == "commit":
                transaction.commit()
            else:
                transaction.abort()

    def on_accepted(self, event):
        self.accepted += 1

    def on_settled(self, event):
        self.answers[int(event.delivery.remote_state)] += 1
        if event.delivery == self.plain:
            print("transfers settled:", sorted(self.answers.items()), "accepted:", self.accepted)
            self.conn.close()

    def on_transaction_committed(self, event):
        self.next_batch("committed")

    def on_transaction_aborted(self, event):
        self.next_batch("aborted")

    def next_batch(self, what):
        print(what, self.plan[self.batch][1])
        self.batch += 1
        if self.batch < len(self.plan):
            self.container.declare_transaction(self.conn, handler=self)
        else:
            self.plain = self.sender.send(Message(body="plain"))


def parse(plan):
    return [(action, int(count)) for action, count in (step.split(":") for step in plan.split(","))]


Container(TxSend(sys.argv[1], sys.argv[2], parse(sys.argv[3]))).run()
