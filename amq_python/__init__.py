"""amq_python: AMQP 1.0 messaging with python-qpid-proton's API over the Proton C engine.

``import amq_python`` gives the names of ``proton``; ``amq_python.reactor``,
``amq_python.handlers`` and ``amq_python.utils`` mirror ``proton.reactor``, ``proton.handlers``
and ``proton.utils``. The C engine is reached through ``proton_ext``, our cffi binding.
"""

from proton_ext import lib as _lib

from ._core._codec import (
    UNDESCRIBED,
    AnnotationDict,
    Array,
    Data,
    Described,
    PropertyDict,
    SymbolList,
    UnmappedType,
    byte,
    char,
    decimal32,
    decimal64,
    decimal128,
    float32,
    int32,
    short,
    symbol,
    timestamp,
    ubyte,
    uint,
    ulong,
    ushort,
)
from ._core._condition import Condition
from ._core._delivery import (
    ACCEPTED,
    MODIFIED,
    RECEIVED,
    REJECTED,
    RELEASED,
    Delivery,
    Disposition,
    DispositionType,
)
from ._core._endpoints import Connection, Endpoint, Link, Receiver, Sender, Session, Terminus
from ._core._events import Collector, Event, EventType, Handler
from ._core._exceptions import (
    ConnectionException,
    DataException,
    Interrupt,
    LinkException,
    MessageException,
    ProtonException,
    SessionException,
    SSLException,
    SSLUnavailable,
    Timeout,
    TransportException,
    UnavailableError,
)
from ._core._message import Message
from ._core._transport import SASL, SSL, SSLDomain, SSLSessionDetails, Transport
from ._core._url import Url
from ._version import __version__ as __version__  # this distribution's; VERSION is proton's API

# The Qpid Proton C engine we run on, as its <proton/version.h> says at build time. It can differ
# from VERSION (the python-qpid-proton API we keep): the engine is the system's library.
PN_VERSION_MAJOR: int = _lib.PN_VERSION_MAJOR
PN_VERSION_MINOR: int = _lib.PN_VERSION_MINOR
PN_VERSION_POINT: int = _lib.PN_VERSION_POINT

VERSION_MAJOR = 0
VERSION_MINOR = 40
VERSION_POINT = 0
VERSION = (VERSION_MAJOR, VERSION_MINOR, VERSION_POINT)
API_LANGUAGE = "C"
IMPLEMENTATION_LANGUAGE = "C"

__all__ = [
    "ACCEPTED",
    "API_LANGUAGE",
    "IMPLEMENTATION_LANGUAGE",
    "MODIFIED",
    "RECEIVED",
    "REJECTED",
    "RELEASED",
    "SASL",
    "SSL",
    "UNDESCRIBED",
    "VERSION",
    "VERSION_MAJOR",
    "VERSION_MINOR",
    "VERSION_POINT",
    "AnnotationDict",
    "Array",
    "Collector",
    "Condition",
    "Connection",
    "ConnectionException",
    "Data",
    "DataException",
    "Delivery",
    "Described",
    "Disposition",
    "DispositionType",
    "Endpoint",
    "Event",
    "EventType",
    "Handler",
    "Interrupt",
    "Link",
    "LinkException",
    "Message",
    "MessageException",
    "PropertyDict",
    "ProtonException",
    "Receiver",
    "SSLDomain",
    "SSLException",
    "SSLSessionDetails",
    "SSLUnavailable",
    "Sender",
    "Session",
    "SessionException",
    "SymbolList",
    "Terminus",
    "Timeout",
    "Transport",
    "TransportException",
    "UnavailableError",
    "UnmappedType",
    "Url",
    "byte",
    "char",
    "decimal128",
    "decimal32",
    "decimal64",
    "float32",
    "int32",
    "short",
    "symbol",
    "timestamp",
    "ubyte",
    "uint",
    "ulong",
    "ushort",
]
