"""Hello world with asyncio: send "Hello World!" to an address, receive it back, print it.

The ``amq_python.aio`` twin of ``hello_world.py``: the same engine, driven by the asyncio loop.
Run ``python -m amq_python.broker --port 5672 &`` then ``python examples/aio_hello.py``.
"""

from __future__ import annotations

import argparse
import asyncio

from amq_python import Message, aio


async def hello(url: str, address: str) -> None:
    async with await aio.connect(url, reconnect=False) as conn:
        sender = await conn.open_sender(address)
        await sender.send(Message(body="Hello World!"), timeout=5)  # returns once accepted
        receiver = await conn.open_receiver(address, credit=10)
        async for delivery in receiver:
            async with delivery.settle_on_exit():  # accept; release if this block fails
                print(delivery.message.body)
            break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="examples", help="the address to send to")
    args = parser.parse_args()
    asyncio.run(hello(args.url, args.address))


if __name__ == "__main__":
    main()
