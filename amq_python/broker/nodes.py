"""The broker's address space: queues made on demand, topics, and dynamic (temporary) queues.

An address names a queue unless it is a topic: it starts with ``topic://``, or a link to it asked
for the ``topic`` capability. A topic keeps no messages of its own: each subscriber gets a
private temporary queue, and a message published to the topic is copied into every one of them
(none subscribed: the message is dropped, as with any topic); a subscriber with a selector only
gets copies of the messages it matches. A dynamic queue gets a generated
address and is dropped, with what it holds, when its last consumer goes.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from amq_python import Array, Link, Message, Sender, Terminus

from .queues import Queue
from .selector import Selector

log = logging.getLogger("amq_python.broker")

TOPIC_PREFIX = "topic://"
TOPIC_CAPABILITY = "topic"


def capabilities(terminus: Terminus) -> set[str]:
    """The symbols in a terminus' capabilities (a single symbol or an array of them)."""
    data = terminus.capabilities
    data.rewind()
    if data.next() is None:
        return set()
    value: Any = data.get_object()
    if isinstance(value, Array):
        return {str(item) for item in value.elements}
    if isinstance(value, (list, tuple)):
        return {str(item) for item in value}
    return {str(value)}


class Topic:
    """An address whose messages are copied to every current subscriber (that selects them)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.subscriptions: dict[Link, tuple[Queue, Selector | None]] = {}

    def put(self, message: Message) -> None:
        """Copy the message into each subscriber's queue, if the subscriber's selector (if any)
        matches it: a subscription never holds messages its consumer would not take."""
        if not self.subscriptions:
            log.debug("no subscriber on topic %s: message dropped", self.address)
        for queue, selector in self.subscriptions.values():
            if selector is None or selector(message):
                queue.put(message)


class Registry:
    """Every queue and topic of one broker, by address."""

    def __init__(self) -> None:
        self.queues: dict[str, Queue] = {}
        self.topics: dict[str, Topic] = {}
        self._owner: dict[Queue, Topic] = {}  # subscription queue -> its topic

    def is_topic(self, address: str) -> bool:
        """Whether ``address`` is a topic (by prefix, or declared by a capability)."""
        return address.startswith(TOPIC_PREFIX) or address in self.topics

    def declare_topic(self, address: str) -> Topic:
        """The topic at ``address``, made now if new."""
        topic = self.topics.get(address)
        if topic is None:
            topic = self.topics[address] = Topic(address)
            log.info("topic %s created", address)
        return topic

    def queue(self, address: str, temporary: bool = False) -> Queue:
        """The queue at ``address``, made now if new."""
        queue = self.queues.get(address)
        if queue is None:
            queue = self.queues[address] = Queue(address, temporary)
            log.info("%squeue %s created", "temporary " if temporary else "", address)
        return queue

    def dynamic_address(self) -> str:
        """A new, unique address for a dynamic node."""
        return f"dynamic/{uuid.uuid4().hex}"

    def publish(self, address: str, message: Message) -> None:
        """Store a message at ``address``: in its queue, or in every subscription of its topic."""
        if self.is_topic(address):
            self.declare_topic(address).put(message)
        else:
            self.queue(address).put(message)

    def subscribe(self, link: Sender, address: str, browse: bool, dynamic: bool,
                  selector: Selector | None = None) -> Queue:
        """Feed ``link`` from ``address`` (only what ``selector`` matches, if it has one);
        returns the queue that feeds it."""
        if self.is_topic(address):
            topic = self.declare_topic(address)
            queue = Queue(f"{address} ({link.name})", temporary=True)
            topic.subscriptions[link] = (queue, selector)  # the topic filters
            self._owner[queue] = topic
            queue.subscribe(link, browse)
        else:
            queue = self.queue(address, temporary=dynamic)
            queue.subscribe(link, browse, selector)
        return queue

    def unsubscribe(self, link: Link, queue: Queue) -> None:
        """Stop feeding ``link`` (its unsettled messages go back); drop an emptied temporary
        queue."""
        queue.unsubscribe(link)
        if not queue.temporary or queue.consumers:
            return
        topic = self._owner.pop(queue, None)
        if topic is not None:
            topic.subscriptions.pop(link, None)
        elif self.queues.get(queue.address) is queue:
            del self.queues[queue.address]
            log.info("temporary queue %s deleted (%d message(s) dropped)",
                     queue.address, len(queue.entries))
