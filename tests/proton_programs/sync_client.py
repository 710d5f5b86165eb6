"""A blocking client (proton.utils): request/response with SyncRequestResponse, then a plain
blocking send and receive."""

import optparse

from proton import Message, Url
from proton.utils import BlockingConnection, SyncRequestResponse

parser = optparse.OptionParser(usage="usage: %prog [options]")
parser.add_option("-a", "--address", default="localhost:5672/examples",
                  help="address of the request service (default %default)")
parser.add_option("-q", "--queue", default="blocking",
                  help="queue for the blocking send and receive (default %default)")
parser.add_option("-t", "--timeout", type="float", default=10,
                  help="give up after this many seconds (default %default)")
opts, args = parser.parse_args()

url = Url(opts.address)
client = SyncRequestResponse(BlockingConnection(url, timeout=opts.timeout), url.path)
try:
    for request in ["Twas brillig, and the slithy toves", "All mimsy were the borogroves,"]:
        response = client.call(Message(body=request))
        print(f"{request} => {response.body}")
finally:
    client.connection.close()

conn = BlockingConnection(url, timeout=opts.timeout)
try:
    sender = conn.create_sender(opts.queue)
    for i in range(3):
        sender.send(Message(body=f"blocking {i}"))
    receiver = conn.create_receiver(opts.queue)
    for _ in range(3):
        msg = receiver.receive(timeout=opts.timeout)
        print("received", msg.body)
        receiver.accept()
finally:
    conn.close()
