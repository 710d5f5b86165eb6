"""Hello world with asyncio: send, wait for the outcome, then receive and settle."""

import asyncio

from amq_python import Message, aio


async def main():
    async with await aio.connect("amqp://127.0.0.1:5672") as conn:
        sender = await conn.open_sender("aio-examples")
        await sender.send(Message(body="Hello asyncio!"), timeout=5)
        print("accepted")
        receiver = await conn.open_receiver("aio-examples", credit=10)
        async for delivery in receiver:
            async with delivery.settle_on_exit():
                print(delivery.message.body)
            break


asyncio.run(main())
