"""``amq_python.reactor``: the names of python-qpid-proton's ``proton.reactor``."""

from ._backoff import Backoff
from ._container import Container, Task
from ._events import Handler
from ._injector import ApplicationEvent, EventInjector
from ._io import Acceptor
from ._link_options import (
    AtLeastOnce,
    AtMostOnce,
    Copy,
    DurableSubscription,
    DynamicNodeProperties,
    Filter,
    LinkOption,
    Move,
    ReceiverOption,
    ResendUnsettled,
    Selector,
    SenderOption,
)
from ._reactor import Reactor
from ._transactions import Transaction

__all__ = [
    "Acceptor",
    "ApplicationEvent",
    "AtLeastOnce",
    "AtMostOnce",
    "Backoff",
    "Container",
    "Copy",
    "DurableSubscription",
    "DynamicNodeProperties",
    "EventInjector",
    "Filter",
    "Handler",
    "LinkOption",
    "Move",
    "Reactor",
    "ReceiverOption",
    "ResendUnsettled",
    "Selector",
    "SenderOption",
    "Task",
    "Transaction",
]
