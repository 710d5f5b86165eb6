"""Free loopback ports for test peers, chosen at run time so parallel runs never clash."""

from __future__ import annotations

import socket
import threading
import time

_given: set[int] = set()
_lock = threading.Lock()


def _bindable(port: int, kind: socket.SocketKind) -> bool:
    """Whether 127.0.0.1:port can be bound right now for this socket kind."""
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(udp_too: bool = False) -> int:
    """A TCP port on 127.0.0.1 that is free now and not handed out before in this process.

    The kernel picks the port (bind to 0), so separate runs get different ones; `udp_too` also
    requires the same UDP port to be free (a KDC listens on both).
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if udp_too and not _bindable(port, socket.SOCK_DGRAM):
            continue
        with _lock:
            if port in _given:
                continue
            _given.add(port)
        return port


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    """Poll until a TCP connect to host:port succeeds; False if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False
