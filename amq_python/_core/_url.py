"""``Url``: parse and build AMQP connection URLs (``amqp[s]://user:password@host:port/path``).

Parsing is strict where python-qpid-proton was silently wrong: an unknown scheme, a port that is
not a number or known service name or is outside 0-65535, an unclosed or unbracketed IPv6
address, a stray character in the host, or credentials with no host raise ``ValueError`` naming
the URL (with the password masked) and the fault. Non-ASCII host names are converted to their
IDNA (punycode) form, which is what DNS, TLS SNI and certificate checks use.

``str(url)`` gives the full URL, password included, as proton's does (it is what a user passes to
``connect``); ``repr(url)`` masks the password so it never reaches a log.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["Url"]

_SERVICES = {"amqp": 5672, "amqps": 5671}
_HOST_CHARS = frozenset(string.ascii_letters + string.digits + "-._")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")  # RFC 3986's scheme: no ':' or '/'
_KEYWORDS = ("scheme", "username", "password", "host", "port", "path")


def _masked(url: str) -> str:
    """``url`` with any password replaced by ``***``, for error messages."""
    scheme, sep, rest = url.rpartition("://")
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    userinfo, _, hostport = netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    userinfo = f"{user}:***" if colon else user
    return f"{scheme}{sep}{userinfo}@{hostport}{slash}{path}"


class Url:
    """A parsed AMQP URL; unset parts are None until ``defaults()`` fills scheme, host and port.

    ``Url(url=None, defaults=True, **kwargs)``: the keywords (scheme, username, password, host,
    port, path) replace the parsed parts.
    """

    AMQP = "amqp"
    AMQPS = "amqps"

    class Port(int):
        """A port number, also constructible from a service name (``Url.Port('amqps') == 5671``).

        ``str()`` gives the name it was made from, as proton's does, and the port compares
        equal to that name as well as to its number (``Url("amqps://h").port == "amqps"``).
        """

        _name: str | None

        def __new__(cls, value: int | str) -> Url.Port:
            name: str | None = None
            if isinstance(value, Url.Port):
                name = value._name
                number = int(value)
            elif isinstance(value, str):
                text = value.strip()
                if text.isdigit():
                    number = int(text)
                else:
                    number = _service_port(text)
                    name = text
            elif isinstance(value, int) and not isinstance(value, bool):
                number = int(value)
            else:
                raise TypeError(f"a port must be an int or a str, not {type(value).__name__}")
            if not 0 <= number <= 65535:
                raise ValueError(f"port {value!r} is out of range (0-65535)")
            port = int.__new__(cls, number)
            port._name = name
            return port

        def __str__(self) -> str:
            return self._name if self._name is not None else int.__repr__(self)

        @property
        def name(self) -> str:
            """The service name or number the port was made from."""
            return str(self)

        def __eq__(self, other: object) -> bool:
            if isinstance(other, str):
                return other == str(self)
            return int.__eq__(self, other)

        def __ne__(self, other: object) -> bool:
            equal = self.__eq__(other)
            return equal if equal is NotImplemented else not equal

        __hash__ = int.__hash__

    def __init__(self, url: str | None = None, defaults: bool = True, **kwargs: Any) -> None:
        self.scheme: str | None = None
        self.username: str | None = None
        self.password: str | None = None
        self.host: str | None = None
        self._port: Url.Port | None = None
        self.path: str | None = None
        if isinstance(url, Url):
            url = str(url)
        if url is not None:
            if not isinstance(url, str):
                raise TypeError(f"a URL must be a str, not {type(url).__name__}")
            self._parse(url)
        for name, value in kwargs.items():
            if name not in _KEYWORDS:
                raise AttributeError(
                    f"Url() got an unknown keyword {name!r}; valid keywords: {', '.join(_KEYWORDS)}"
                )
            setattr(self, name, value)
        if defaults:
            self.defaults()

    @property
    def port(self) -> Url.Port | None:
        """The port number (None if unset), as a ``Url.Port``."""
        return self._port

    @port.setter
    def port(self, value: int | str | None) -> None:
        self._port = None if value is None else Url.Port(value)

    def defaults(self) -> Url:
        """Fill in a missing scheme (amqp), host (0.0.0.0) and port (the scheme's); return self."""
        self.scheme = self.scheme or self.AMQP
        self.host = self.host or "0.0.0.0"
        if self._port is None:
            self._port = Url.Port(self.scheme)
        return self

    def _parse(self, url: str) -> None:
        """Split ``url`` into its parts, raising ValueError on anything malformed."""

        def bad(reason: str) -> ValueError:
            return ValueError(f"invalid URL {_masked(url)!r}: {reason}")

        rest = url.strip()
        scheme, sep, after = rest.partition("://")
        if sep and _SCHEME.fullmatch(scheme):  # not a "://" inside the path ("h/queue://x")
            rest = after
            scheme = scheme.lower()
            if scheme not in _SERVICES:
                raise bad(f"unknown scheme {scheme!r} (expected 'amqp' or 'amqps')")
            self.scheme = scheme
        elif rest.startswith("//"):
            rest = rest[2:]
        netloc, slash, path = rest.partition("/")
        if slash:
            self.path = path
        hostport = netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, colon, password = userinfo.partition(":")
            self.username = unquote(user)
            if colon:
                self.password = unquote(password)
        port_text = ""
        if hostport.startswith("["):
            end = hostport.find("]")
            if end < 0:
                raise bad("unclosed '[' in IPv6 host")
            host = hostport[1:end]
            try:
                ipaddress.IPv6Address(host.partition("%")[0])
            except ValueError:
                raise bad(f"{host!r} in brackets is not an IPv6 address") from None
            after = hostport[end + 1 :]
            if after and not after.startswith(":"):
                raise bad(f"unexpected {after!r} after IPv6 host")
            port_text = after[1:]
        elif hostport.count(":") > 1:
            try:
                ipaddress.IPv6Address(hostport.partition("%")[0])
            except ValueError:
                raise bad(f"more than one ':' in {hostport!r}") from None
            raise bad("an IPv6 address must be in brackets, e.g. amqp://[::1]:5672")
        else:
            host, _, port_text = hostport.partition(":")
            host = _ascii_host(host, bad)
        if host:
            self.host = host
        elif self.username is not None:
            raise bad("user credentials given but no host")
        if port_text:
            try:
                self.port = port_text
            except ValueError as e:
                raise bad(str(e)) from None

    def __str__(self) -> str:
        return self._format(self.password)

    def __repr__(self) -> str:
        return f"Url({self._format(None if self.password is None else '***')!r})"

    def _format(self, password: str | None) -> str:
        """The URL text, with ``password`` in the password's place."""
        text = f"{self.scheme}://" if self.scheme else ""
        if not text and (self.username or password or self.host or self._port is not None):
            text = "//"
        if self.username or password:
            text += quote(self.username or "", safe="")
            if password:
                text += ":" + (password if password == "***" else quote(password, safe=""))
            text += "@"
        if self.host:
            text += f"[{self.host}]" if ":" in self.host else self.host
        if self._port is not None:
            text += f":{self._port}"
        if self.path is not None:
            text += f"/{self.path}"
        return text

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __ne__(self, other: object) -> bool:
        return str(self) != str(other)

    __hash__ = None  # type: ignore[assignment]


def _service_port(name: str) -> int:
    """The port of a service name: amqp and amqps, else the system's services database."""
    port = _SERVICES.get(name.lower())
    if port is not None:
        return port
    try:
        return socket.getservbyname(name, "tcp")
    except (OSError, UnicodeError):
        raise ValueError(f"{name!r} is not a port number or known service name") from None


def _ascii_host(host: str, bad: Any) -> str:
    """Check a host name's characters; convert a non-ASCII name to its IDNA form."""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise bad(f"host {host!r} is not a valid internationalised domain name") from None
    for ch in host:
        if ch not in _HOST_CHARS:
            raise bad(f"invalid character {ch!r} in host {host!r}")
    return host
