"""Run a Python program with uvloop as asyncio's event loop (``asyncio.run`` then makes a
uvloop loop): ``python tests/uvloop_run.py PROGRAM [ARG ...]``. The examples tests run each
asyncio program this way as well as on the default loop."""

from __future__ import annotations

import asyncio
import runpy
import sys

import uvloop

if __name__ == "__main__":
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    program = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(program, run_name="__main__")
