"""Plain (non-transactional) access to a broker queue: ``fill N`` sends N messages
``m0`` ... ; ``drain`` sends an ``END`` marker, then receives and accepts up to it, printing
each message before the marker: exactly what the queue held."""

import sys

from proton import Message
from proton.utils import BlockingConnection

url, address, command = sys.argv[1], sys.argv[2], sys.argv[3]
conn = BlockingConnection(url, timeout=10)
sender = conn.create_sender(address)
if command == "fill":
    for i in range(int(sys.argv[4])):
        sender.send(Message(body=f"m{i}"))
else:
    sender.send(Message(body="END"))
    receiver = conn.create_receiver(address)
    while True:
        message = receiver.receive(timeout=10)
        receiver.accept()
        if message.body == "END":
            break
        print("on the queue:", message.body, "delivery count", message.delivery_count)
conn.close()
