"""Transactional receive through a broker: per planned step (``abort:5,commit:5``) a
transaction takes ``count`` messages (credit for exactly that many), accepts each in the
transaction, then commits or aborts it; ``close:N`` closes the connection instead, leaving the
transaction undischarged. Prints each message (with its delivery count) and each discharge."""

import sys

from proton.handlers import TransactionalClientHandler
from proton.reactor import Container


class TxRecv(TransactionalClientHandler):
    def __init__(self, url, address, plan):
        super().__init__(prefetch=0)
        self.url = url
        self.address = address
        self.plan = plan
        self.transaction = None
        self.accepted = 0

    def on_start(self, event):
        self.container = event.container
        self.conn = self.container.connect(self.url)
        self.receiver = self.container.create_receiver(self.conn, self.address)
        self.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event):
        self.transaction = event.transaction
        self.accepted = 0
        self.receiver.flow(self.plan[0][1])

    def on_message(self, event):
        print("received", event.message.body, "delivery count", event.message.delivery_count)
        self.accept(event.delivery, self.transaction)
        self.accepted += 1
        action, count = self.plan[0]
        if self.accepted < count:
            return
        transaction, self.transaction = self.transaction, None
        if action == "commit":
            transaction.commit()
        elif action == "abort":
            transaction.abort()
        else:
            print("closing with the transaction open")
            self.conn.close()

    def on_transaction_committed(self, event):
        self.next("committed")

    def on_transaction_aborted(self, event):
        self.next("aborted")

    def next(self, what):
        print(what, self.plan.pop(0)[1])
        if self.plan:
            self.container.declare_transaction(self.conn, handler=self)
        else:
            self.conn.close()


def parse(plan):
    return [(action, int(count)) for action, count in (step.split(":") for step in plan.split(","))]


Container(TxRecv(sys.argv[1], sys.argv[2], parse(sys.argv[3]))).run()
