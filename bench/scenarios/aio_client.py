"""The measuring side of scenarios 1, 1r and 2 written with ``amq_python.aio`` (issue 14's targets).

``send`` opens one connection and one sender and submits ``--n`` messages with a binary body of
``--size`` bytes: ``submit()`` waits only for credit, so the loop keeps the link as full as the
peer's window allows; the clock runs from the first submit to the last ACCEPTED outcome and it
prints ``{"msgs_per_s": ..., "seconds": ..., "cpu_us_per_msg": ...}`` like ``throughput send``.

``receive`` does what ``receiving fetch`` does: one receiver with ``credit=--credit`` from a
``receiving serve`` process, each delivery accepted as it comes, timed from the first message
to the ``--n``-th.

``request`` does what ``latency request`` does, one request at a time with ``reply_to`` set to a
fixed reply address, and prints the median and p99 round trip in milliseconds.

They talk to the same listening processes as the handler-API roles (``throughput listen``,
``receiving serve``, ``latency respond``), run on amq_python. ``--tracing`` turns
``amq_python.tracing`` on as the ``amq_python+tracing`` variant does
(``bench.common.enable_tracing``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from amq_python import Message, aio
from bench.common import emit, enable_tracing, rate, url
from bench.scenarios.latency import REPLY_ADDRESS
from bench.scenarios.receiving import ADDRESS
from bench.scenarios.throughput import cpu_seconds


async def send(address: str, total: int, size: int) -> dict[str, float]:
    """Submit ``total`` messages and wait for every outcome."""
    body = bytes(size)
    async with await aio.connect(address, reconnect=False) as conn:
        sender = await conn.open_sender("bench")
        cpu_started = cpu_seconds()
        started = time.perf_counter()
        trackers = [await sender.submit(Message(body=body)) for _ in range(total)]
        for tracker in trackers:
            await tracker
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_started
    return rate(total, seconds, cpu)


async def receive(address: str, total: int, credit: int) -> dict[str, float]:
    """Receive and accept ``total`` messages through a receiver with ``credit``."""
    async with await aio.connect(address, reconnect=False) as conn:
        receiver = await conn.open_receiver(ADDRESS, credit=credit)
        delivery = await receiver.receive()
        cpu_started = cpu_seconds()
        started = time.perf_counter()
        delivery.accept()
        for _ in range(total - 1):
            delivery = await receiver.receive()
            delivery.accept()
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_started
    return rate(total, seconds, cpu)


async def request(address: str, warmup: int, count: int, size: int) -> dict[str, float]:
    """Time ``count`` request/response round trips after ``warmup`` untimed ones."""
    body = bytes(size)
    round_trips: list[float] = []
    async with await aio.connect(address, reconnect=False) as conn:
        sender = await conn.open_sender("requests")
        replies = await conn.open_receiver(REPLY_ADDRESS, credit=1)
        for request_id in range(warmup + count):
            sent_at = time.perf_counter()
            await sender.submit(
                Message(body=body, reply_to=REPLY_ADDRESS, correlation_id=request_id)
            )
            reply = await replies.receive()
            round_trips.append(time.perf_counter() - sent_at)
            reply.accept()
            if reply.message.correlation_id != request_id:
                raise RuntimeError(f"unexpected reply {reply.message.correlation_id!r}")
    timed = round_trips[warmup:]
    quantiles = statistics.quantiles(timed, n=100, method="inclusive")
    return {"median_ms": statistics.median(timed) * 1e3, "p99_ms": quantiles[98] * 1e3}


def main() -> None:
    """Run the ``send`` or ``request`` role against a listener on ``--port``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("role", choices=("send", "receive", "request"))
    p.add_argument("--port", type=int, required=True, help="listener port on 127.0.0.1")
    p.add_argument("--n", type=int, default=100_000, help="messages, or timed round trips")
    p.add_argument("--size", type=int, default=100, help="body size in bytes")
    p.add_argument("--warmup", type=int, default=500, help="request: untimed round trips first")
    p.add_argument("--tracing", action="store_true", help="with amq_python.tracing on")
    p.add_argument("--credit", type=int, default=10, help="receive: the receiver's credit")
    args = p.parse_args()
    if args.tracing:
        enable_tracing()
    address = url(args.port)
    if args.role == "send":
        emit(asyncio.run(send(address, args.n, args.size)))
    elif args.role == "receive":
        emit(asyncio.run(receive(address, args.n, args.credit)))
    else:
        emit(asyncio.run(request(address, args.warmup, args.n, args.size)))


if __name__ == "__main__":
    main()
