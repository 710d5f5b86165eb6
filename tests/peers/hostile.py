"""A hostile AMQP peer: a raw-socket server that misbehaves on purpose (no AMQP library).

    python tests/peers/hostile.py --scenario garbage [--timeout 30]

It prints ``listening PORT`` once it listens on 127.0.0.1, then serves every connection it
accepts (one thread each) with the chosen scenario, until ``--timeout`` seconds pass or stdin
closes. Each accepted connection is counted on stdout as ``accepted N``. The frames are
hand-encoded with ``tests/peers/amqp_wire.py``. Before misbehaving the peer does the polite
part a client expects: it answers a SASL header with ANONYMOUS and a successful outcome, then
reads the AMQP header. Scenarios (what the peer does next):

- ``garbage``: random bytes instead of a protocol header.
- ``garbage_after_open``: a header and an Open, then random bytes.
- ``truncated``: a header and the first half of an Open frame, then it closes the socket.
- ``oversized``: a header, an Open, then a frame header announcing 2 GiB.
- ``unknown_channel``: a header, an Open, and an Attach on a channel that was never begun.
- ``unknown_handle``: a header, Open and Begin, then a Flow for a link handle never attached.
- ``transfer_before_attach``: a header, Open and Begin, then a Transfer on handle 0.
- ``unknown_performative``: a header, then a frame whose descriptor is no performative.
- ``open_close_flood``: a header, then thousands of Open and Close frames.
- ``stall``: a header, Open, Begin, an Attach for the client's sender ``hostile-link`` and a
  Flow with plenty of credit; then it never reads again, so the client's writes block.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from tests.peers import amqp_wire as w  # noqa: E402

LINK_NAME = "hostile-link"
SCENARIOS = (
    "garbage", "garbage_after_open", "truncated", "oversized", "unknown_channel",
    "unknown_handle", "transfer_before_attach", "unknown_performative", "open_close_flood",
    "stall",
)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def _recv_frame(sock: socket.socket) -> bytes:
    size = int.from_bytes(_recv_exactly(sock, 4), "big")
    return _recv_exactly(sock, max(0, size - 4))


def _handshake(sock: socket.socket) -> None:
    """Answer a SASL layer (ANONYMOUS, outcome ok) if the client starts one; read the AMQP
    header."""
    header = _recv_exactly(sock, 8)
    if header == w.SASL_HEADER:
        sock.sendall(w.SASL_HEADER + w.sasl_mechanisms_frame("ANONYMOUS"))
        _recv_frame(sock)  # sasl-init
        sock.sendall(w.sasl_outcome_frame(0))
        _recv_exactly(sock, 8)


def _opened() -> bytes:
    return w.AMQP_HEADER + w.open_frame()


def _scenario_bytes(name: str) -> bytes:
    """What the peer sends in scenario ``name`` (all but ``stall`` and ``truncated``, which
    need more than a blob)."""
    begun = _opened() + w.begin_frame(0, 0)
    if name == "garbage":
        return os.urandom(512)
    if name == "garbage_after_open":
        return _opened() + b"\x00\x00\x00\x10\x02\x00\x00\x00" + os.urandom(256)
    if name == "oversized":
        return _opened() + (2**31).to_bytes(4, "big") + b"\x02\x00\x00\x00" + b"\x00" * 256
    if name == "unknown_channel":
        return _opened() + w.attach_frame("x", 0, True, "q", channel=9)
    if name == "unknown_handle":
        return begun + w.flow_frame(42, 10)
    if name == "transfer_before_attach":
        return begun + w.transfer_frame(0, 0, w.message("too early"))
    if name == "unknown_performative":
        return w.AMQP_HEADER + w.frame(w.performative(0)) + b"\x00" * 32
    if name == "open_close_flood":
        return w.AMQP_HEADER + (w.open_frame() + w.close_frame()) * 2000
    raise ValueError(f"unknown scenario {name!r}")


def _drain_until_closed(sock: socket.socket, deadline: float) -> None:
    """Read (and drop) what the client sends until it closes or the deadline passes."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return
        except (OSError, TimeoutError):
            return


def serve(sock: socket.socket, scenario: str, deadline: float) -> None:
    """Play ``scenario`` on one accepted connection."""
    try:
        _handshake(sock)
        if scenario == "truncated":
            opened = _opened()
            sock.sendall(opened[: len(opened) - 10])
            return
        if scenario == "stall":
            sock.sendall(_opened() + w.begin_frame(0, 0)
                         + w.attach_frame(LINK_NAME, 0, True, "q")
                         + w.flow_frame(0, 100000))
            # Never read again: the client's socket buffer fills and its writes block.
            while time.monotonic() < deadline:
                time.sleep(0.05)
                try:
                    sock.setblocking(False)
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        return  # the client closed its end
                except BlockingIOError:
                    pass
                except OSError:
                    return
            return
        sock.sendall(_scenario_bytes(scenario))
        _drain_until_closed(sock, deadline)
    except (OSError, ConnectionError):
        pass
    finally:
        sock.close()


def main() -> None:
    """Listen, print the port, serve connections until the timeout or stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    if args.scenario not in SCENARIOS:
        parser.error(f"unknown scenario {args.scenario!r}; choose from {', '.join(SCENARIOS)}")
    deadline = time.monotonic() + args.timeout
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    print(f"listening {server.getsockname()[1]}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    accepted = 0
    while time.monotonic() < deadline:
        server.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            conn, _ = server.accept()
        except (TimeoutError, OSError):
            break
        accepted += 1
        print(f"accepted {accepted}", flush=True)
        threading.Thread(target=serve, args=(conn, args.scenario, deadline), daemon=True).start()
    os._exit(0)


if __name__ == "__main__":
    main()
