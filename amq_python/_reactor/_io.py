"""Sockets for the container: one Channel per connection's socket, one Acceptor per listener.

A Channel drives one connection's sans-IO Engine (``_core._engine``) with a non-blocking socket
and the container's clock, without copies: reads go straight into the engine's input buffer and
writes come straight from its output buffer. It never dispatches events itself; the engine
queues them in the container's collector, and the container dispatches them.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
from typing import TYPE_CHECKING, Any

from .._core._engine import CLOSED, READING, Engine
from .._core._transport import Transport, raise_trace_error
from .._core._url import Url

if TYPE_CHECKING:
    from .._core._endpoints import Connection
    from ._host import Host

READS_PER_WAKEUP = 8
EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE


def _numeric(host: str) -> bool:
    """True for an IPv4 or IPv6 address literal (nothing to resolve)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except (OSError, ValueError):
            pass
    return False


def _nodelay(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _address_text(address: Any) -> str:
    """A socket address as host:port, an IPv6 host in brackets."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def peer_url(sock: socket.socket) -> Url | None:
    """An accepted socket's peer as a URL (``amqp://127.0.0.1:50000``): its connection's
    ``connected_address``, as python-qpid-proton gives it. None once the peer is gone."""
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return None
    return Url(host=host, port=port)


class Channel:
    """One socket bound to one Transport (and through it to one Connection)."""

    def __init__(
        self,
        container: Host,
        transport: Transport,
        connection: Connection,
        sock: socket.socket | None,
        connector: Any = None,
    ) -> None:
        self.container = container
        self.transport = transport
        self.connection = connection
        self.connector = connector
        self.sock = sock
        self.connecting = False
        self.want_write = False
        self.mask = 0
        self.tick_task: Any = None
        self.tick_due = False  # a read moved the engine's deadlines: flush() ticks
        self.peer: str | None = None  # an accepted socket's peer address, for the log
        # An outgoing connect: "host:port" asked for, the addresses it resolved to not tried
        # yet, the one being tried, and how each one tried so far failed.
        self.target = ""
        self.addresses: list[tuple[int, int, Any]] = []
        self.trying = ""
        self.failures: list[str] = []
        self.tick_deadline = 0
        self.error_reported = False
        self.faulted = False  # the peer ended a resending link's session or link: ended as lost
        self.early_pass = -1  # the container pass in which write_early() last wrote
        self.engine = Engine(transport, connection)
        self._t = transport._impl  # None once finished
        connection._channel = self

    def start_connect(self, host: str, port: int) -> None:
        """Begin a non-blocking connect to each address ``host`` resolves to, in order, until
        one accepts; the failures of all of them surface together as one transport error.
        Under the asyncio driver a host name is resolved without blocking the loop first."""
        driver = self.container._driver
        if driver is not None and not _numeric(host):
            driver.resolve(host, port, self)
            return
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            self.io_error(f"cannot resolve {host!r}: {e}")
            return
        self.connect_to(host, port, infos)

    def resolved(self, host: str, port: int, infos: list[Any], error: BaseException | None) -> None:
        """The asyncio driver's answer for ``host``: connect, or fail as ``start_connect``."""
        if self._t is None or self.engine.closed():
            return  # closed while the name was being resolved
        if error is not None:
            self.io_error(f"cannot resolve {host!r}: {error}")
            return
        self.connect_to(host, port, infos)

    def connect_to(self, host: str, port: int, infos: list[Any]) -> None:
        """Try ``infos`` (``getaddrinfo``'s answer for ``host``) in order."""
        self.target = f"{host}:{port}"
        self.addresses = [(family, proto, address) for family, _, proto, _, address in infos]
        self.failures = []
        self.connect_next()

    def connect_next(self) -> None:
        """Start connecting to the next address not tried yet; with none left, fail naming
        each address tried and its error."""
        while self.addresses:
            family, proto, address = self.addresses.pop(0)
            self.trying = _address_text(address)
            try:
                sock = socket.socket(family, socket.SOCK_STREAM, proto)
            except OSError as e:
                self.failures.append(f"{self.trying}: {e.strerror or e}")
                continue
            sock.setblocking(False)
            _nodelay(sock)
            code = sock.connect_ex(address)
            if code in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                self.sock = sock
                self.connecting = True
                self.update()
                return
            sock.close()
            self.failures.append(f"{self.trying}: {os.strerror(code)}")
        self.connecting = False
        failures = self.failures
        if len(failures) == 1:  # one address: its error alone ("Connection refused")
            failures = [failures[0].split(": ", 1)[1]]
        self.io_error(f"connect to {self.target} failed: {'; '.join(failures)}")

    def fileno(self) -> int:
        """The socket's descriptor (for the selector)."""
        assert self.sock is not None
        return self.sock.fileno()

    def on_ready(self, mask: int) -> None:
        """The selector says the socket is readable and/or writable."""
        if self.connecting:
            assert self.sock is not None
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self.failures.append(f"{self.trying}: {os.strerror(code)}")
                self.close_socket()
                self.connect_next()
                return
            self.connecting = False
            mask |= EVENT_WRITE
        if mask & EVENT_READ:
            self.read()
        if mask & EVENT_WRITE and self.sock is not None:
            self.write()

    def read(self) -> None:
        """Read what the socket has into the transport's input buffer: several buffers' worth
        while the socket keeps filling them (the transport offers 8 KiB at a time)."""
        sock = self.sock
        assert sock is not None
        try:
            timed = self.engine.read_from(sock.recv_into, READS_PER_WAKEUP)
        except OSError as e:
            self.io_error(f"read failed: {e.strerror or e}")
            return
        # The tick that input makes due (when the engine has timers), and the socket's new
        # interest, wait for flush() at the end of the container's pass: the events this input
        # brought go first.
        if timed:
            self.tick_due = True
        self.container._dirty.add(self)

    def write_early(self, pass_id: int) -> None:
        """Write now, in the middle of the container's pass ``pass_id``, if the transport has
        output, and then not again in this pass (flush writes the rest at its end).

        The peer then starts on the first message, credit or outcome while we handle the rest
        of the events the same read brought, instead of waiting for all of them: with a small
        credit window the two processes work in parallel instead of in turn. The frames and
        their order are unchanged; at most one more write per pass."""
        if self.sock is None or self.connecting:
            return  # (no socket either once the transport is freed)
        if self.engine.pending() > 0:
            self.early_pass = pass_id
            self.write()

    def flush(self) -> None:
        """End of the container's pass over the events: run the tick a read made due, then
        write what the transport has to send."""
        if self._t is None:
            return
        if self.tick_due:
            self.tick_due = False
            self._tick()
        if self.sock is not None and not self.connecting:
            self.write()

    def write(self) -> None:
        """Write as much pending output as the socket takes; watch for writability if not all.
        Then close the socket if the transport is done both ways, else refresh interest."""
        sock = self.sock
        assert sock is not None
        try:
            left = self.engine.write_to(sock.send)
        except OSError as e:
            self.io_error(f"write failed: {e.strerror or e}")
            return
        self.want_write = left > 0
        if left < 0:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        status = self.engine.status()
        if status == CLOSED:
            self.close_socket()
        else:
            mask = EVENT_READ if status == READING else 0
            if self.want_write:
                mask |= EVENT_WRITE
            if mask != self.mask:
                self.watch(mask)
        raise_trace_error()

    def update(self) -> None:
        """Register the socket for the events we now care about."""
        if self.sock is None:
            return
        mask = 0
        if self.connecting or self.want_write:
            mask |= EVENT_WRITE
        if not self.connecting and self.engine.reading():
            mask |= EVENT_READ
        if mask != self.mask:
            self.watch(mask)

    def watch(self, mask: int) -> None:
        """Have the selector watch the socket for ``mask`` (none: not at all)."""
        sock = self.sock
        selector = self.container._selector
        if self.mask == 0:
            selector.register(sock, mask, self)
        elif mask == 0:
            selector.unregister(sock)
        else:
            selector.modify(sock, mask, self)
        self.mask = mask

    def io_error(self, description: str) -> None:
        """A socket error: record it as the transport's condition and close both ways."""
        self.engine.fail(description)
        self.close_socket()
        raise_trace_error()

    def tick(self) -> None:
        """Run the transport's timers and (re)schedule the next tick.

        Called when the channel starts, when the tick is due, and (through flush) after every
        read while either side has an idle timeout: input moves the engine's deadlines (the
        peer's Open brings its idle timeout, so heartbeats become due; frames push back our idle
        timeout), and before any input the engine may have no deadline to give at all. With no
        idle timeout on either side a tick does nothing, so reads make none due."""
        if self._t is None:
            return
        self.container._dirty.add(self)
        self._tick()

    def _tick(self) -> None:
        """tick() without marking the channel for writing (flush writes next anyway)."""
        deadline = self.engine.tick(self.container.now_ms())
        task = self.tick_task
        if task is not None and not task.cancelled:
            if deadline and deadline >= self.tick_deadline:
                return  # the tick already due first reschedules from the engine's answer then
            task.cancel()
        self.tick_task = None
        if deadline:
            self.tick_deadline = deadline
            self.tick_task = self.container._schedule_internal(
                max(0.0, deadline / 1000.0 - self.container.now), self.tick
            )

    def close_socket(self) -> None:
        """Stop watching and close the socket (the transport lives on until it is freed)."""
        sock = self.sock
        if sock is None:
            return
        if self.mask:
            self.container._selector.unregister(sock)
            self.mask = 0
        sock.close()
        self.sock = None

    def finish(self) -> None:
        """After TRANSPORT_CLOSED: release the socket, unbind and free the transport."""
        self.close_socket()
        if self.tick_task is not None:
            self.tick_task.cancel()
            self.tick_task = None
        self.container._dirty.discard(self)
        if self.connection._channel is self:
            self.connection._channel = None
        self.engine.release()
        self._t = None


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on the first address of ``host`` that can be bound, IPv4 ones first:
    a name such as ``localhost`` that has both binds its IPv4 address, as python-qpid-proton
    does (it listens on IPv4 only), whichever order the hosts file lists them in; a host with
    only IPv6 addresses (``::1``) listens there. A port in use fails at once; when no address
    can be bound, the last one's error."""
    infos = socket.getaddrinfo(host or None, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    error: OSError | None = None
    for family, socktype, proto, _name, address in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE:
                raise  # taken: listening on another of the host's addresses would hide that
            error = e
            continue
        return sock
    assert error is not None
    raise error


class Acceptor:
    """A listening socket; each accepted connection gets a server Transport and a Channel."""

    def __init__(
        self,
        container: Host,
        host: str,
        port: int,
        ssl_domain: Any = None,
        handler: Any = None,
    ) -> None:
        self.container = container
        self.ssl_domain = ssl_domain
        self.handler = handler  # scoped to each accepted connection, when set
        sock = _listening_socket(host, port)
        sock.setblocking(False)
        self.sock: socket.socket | None = sock
        self.port = sock.getsockname()[1]
        container._selector.register(sock, EVENT_READ, self)
        container._acceptors.add(self)

    def set_ssl_domain(self, ssl_domain: Any) -> None:
        """Use TLS with this domain for connections accepted from now on."""
        self.ssl_domain = ssl_domain

    def on_ready(self, mask: int) -> None:
        """Accept every pending connection."""
        while self.sock is not None:
            try:
                sock, _address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            _nodelay(sock)
            self.container._accept(sock, self)

    def close(self) -> None:
        """Stop listening; connections already accepted go on."""
        sock = self.sock
        if sock is None:
            return
        self.container._selector.unregister(sock)
        self.container._acceptors.discard(self)
        sock.close()
        self.sock = None
