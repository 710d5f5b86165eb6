"""The exception classes of the python-qpid-proton API, and the one path from C errors to them.

Every C return code that can fail goes through ``check()``: a negative code becomes an
exception of the caller's chosen class, carrying the C engine's own error text
(``pn_error_text``) when the C object has one, else the code's name (``pn_code``).
"""

from __future__ import annotations

from typing import Any

from proton_ext import ffi, lib


class ProtonException(Exception):
    """The root of every error this library raises on purpose."""


class ConnectionException(ProtonException):
    """A connection failed or was closed with an error."""


class SessionException(ProtonException):
    """A session failed or was closed with an error."""


class LinkException(ProtonException):
    """A link (sender or receiver) failed or was closed with an error."""


class Timeout(ProtonException):
    """A blocking operation did not finish in time."""


class Interrupt(ProtonException):
    """A blocking operation was interrupted."""


class DataException(ProtonException):
    """An AMQP value could not be encoded or decoded."""


class MessageException(ProtonException):
    """A message could not be encoded or decoded."""


class TransportException(ProtonException):
    """The byte stream to the peer failed."""


class SSLException(TransportException):
    """TLS configuration or negotiation failed."""


class SSLUnavailable(SSLException):
    """The Proton library on this machine was built without TLS."""


class UnavailableError(ProtonException):
    """A feature this machine lacks (a SASL plug-in, TLS); the message names what to install."""


def error_text(error: Any) -> str:
    """The text of a ``pn_error_t``, or an empty string when there is none."""
    if error == ffi.NULL:
        return ""
    text = lib.pn_error_text(error)
    return ffi.string(text).decode("utf-8", "replace") if text != ffi.NULL else ""


def check(code: int, exception: type[ProtonException] = ProtonException, error: Any = None) -> int:
    """Return a non-negative C result; raise ``exception`` with the C error text otherwise."""
    if code >= 0:
        return code
    text = error_text(error) if error is not None else ""
    name = ffi.string(lib.pn_code(code)).decode()
    raise exception(f"[{code}]: {text}" if text else f"[{code}]: {name}")
