"""asyncio for amq_python: a second driver of the same engine, with no helper threads.

``await container.run_async()`` runs MessagingHandler code on the running loop; the API here
gives connections, senders and receivers as awaitables over the same Container events::

    import asyncio

    from amq_python import Message, aio


    async def main():
        async with await aio.connect("amqp://127.0.0.1:5672") as conn:
            sender = await conn.open_sender("jobs")
            await sender.send(Message(body="hi"), timeout=5)
            receiver = await conn.open_receiver("jobs", credit=10)
            async for delivery in receiver:
                async with delivery.settle_on_exit():
                    print(delivery.message.body)
                break


    asyncio.run(main())

A lost connection is reconnected as ``Container.connect`` does (``reconnect=``): the same
Connection, Sender and Receiver objects re-attach and ``async for`` goes on. Deliveries received
before the loss are ``stale`` (settling one raises StaleDelivery; the peer sends the message
again). Senders resend by default (``open_sender(address, resend_unsettled=True,
max_unsettled=1000)``): a ``send()`` still waiting for its outcome gets the outcome of the
message sent again after the reconnect; with ``resend_unsettled=False`` it raises ConnectionLost.
"""

from ._connection import Connection, connect
from ._errors import (
    ConnectionLost,
    MessageModified,
    MessageNotAccepted,
    MessageRejected,
    MessageReleased,
    StaleDelivery,
)
from ._links import Delivery, Receiver, Sender, Tracker

__all__ = [
    "Connection",
    "ConnectionLost",
    "Delivery",
    "MessageModified",
    "MessageNotAccepted",
    "MessageRejected",
    "MessageReleased",
    "Receiver",
    "Sender",
    "StaleDelivery",
    "Tracker",
    "connect",
]
