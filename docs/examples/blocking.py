"""The blocking API: each call waits for the peer, with a timeout, and no handler to write."""

from amq_python import Message
from amq_python.utils import BlockingConnection

conn = BlockingConnection("amqp://127.0.0.1:5672", timeout=10)
try:
    sender = conn.create_sender("blocking")
    sender.send(Message(body="Hello blocking!"))  # returns once the broker accepts it
    receiver = conn.create_receiver("blocking")
    message = receiver.receive(timeout=5)
    print(message.body)
    receiver.accept()
finally:
    conn.close()
