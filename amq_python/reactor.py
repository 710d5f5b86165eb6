"""``amq_python.reactor``: the names of python-qpid-proton's ``proton.reactor``."""

from ._core._backoff import Backoff
from ._core._events import Handler
from ._core._link_options import (
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
from ._reactor._base import Reactor
from ._reactor._container import Container
from ._reactor._host import Task
from ._reactor._injector import ApplicationEvent, EventInjector
from ._reactor._io import Acceptor
from ._reactor._transactions import Transaction

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
