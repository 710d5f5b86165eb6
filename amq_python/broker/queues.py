"""A broker queue: stored messages, its consumers, and the messages they have not settled yet.

Theory of operation:

- A message is an ``Entry`` (arrival number, the Message, its delivery count). The queue keeps
  waiting entries in arrival order. Sending an entry to a consumer moves it from the queue to
  that consumer's ``unacked`` map (keyed by the Delivery), so no other consumer gets it.
- The outcome decides what happens next: accepted or rejected, the entry is gone; released or
  modified, it goes back to its place in arrival order (modified with ``delivery-failed`` counts
  one more delivery attempt). A consumer that goes away gives every unsettled entry back the same
  way, counted as a failed attempt: that is at-least-once.
- ``dispatch()`` hands waiting entries to consumers in turn (round-robin), skipping a consumer
  without credit, until no entry is waiting or no consumer has credit.
- A browser (distribution mode copy) gets a copy of each entry from its cursor onwards and
  consumes nothing; its deliveries are not tracked.
- A consumer may have a selector (see ``selector``): it only gets the entries it matches. While
  no competing consumer has one, ``dispatch()`` takes the plain path above (nothing evaluated per
  message). Otherwise each waiting entry, in order, goes to the next consumer in turn that has
  credit and matches it; an entry no consumer with credit matches keeps its place, for a later
  consumer. A browser with a selector skips the entries it does not match.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque

from amq_python import Delivery, Endpoint, Link, Message, ProtonException, Sender

from .selector import Selector

log = logging.getLogger("amq_python.broker")

_arrivals = itertools.count()
_OPEN = Endpoint.LOCAL_ACTIVE | Endpoint.REMOTE_ACTIVE


class Entry:
    """One stored message: its arrival number (its place in the queue) and its delivery count."""

    __slots__ = ("seq", "message", "delivery_count")

    def __init__(self, message: Message, delivery_count: int = 0) -> None:
        self.seq = next(_arrivals)
        self.message = message
        self.delivery_count = delivery_count


class Consumer:
    """A sender link the queue feeds: a competing consumer, or a browser with a cursor; either
    may have a selector (only the messages it matches are for this link)."""

    __slots__ = ("link", "browse", "selector", "cursor", "unacked")

    def __init__(self, link: Sender, browse: bool, selector: Selector | None = None) -> None:
        self.link = link
        self.browse = browse
        self.selector = selector
        self.cursor = -1  # a browser has seen every entry with seq <= cursor
        self.unacked: dict[Delivery, Entry] = {}

    def can_send(self) -> bool:
        """Open at both ends and with credit."""
        try:
            return self.link.state & _OPEN == _OPEN and self.link.credit > 0
        except ProtonException:  # the link was freed with its connection
            return False

    def presettled(self) -> bool:
        """The consumer asked for pre-settled (at-most-once) deliveries."""
        return bool(self.link.snd_settle_mode == Link.SND_SETTLED)


def _position(entries: deque[Entry], seq: int) -> int:
    """Index of the first entry whose arrival number is above ``seq`` (binary search)."""
    low, high = 0, len(entries)
    while low < high:
        middle = (low + high) // 2
        if entries[middle].seq <= seq:
            low = middle + 1
        else:
            high = middle
    return low


class Queue:
    """Messages stored under one address and the consumers that compete for them."""

    def __init__(self, address: str, temporary: bool = False) -> None:
        self.address = address
        self.temporary = temporary  # dropped when its last consumer leaves (dynamic, topic)
        self.entries: deque[Entry] = deque()
        self.consumers: list[Consumer] = []
        self._turn = 0
        self._selective = 0  # competing consumers with a selector: dispatch takes the slow path

    def __repr__(self) -> str:
        return f"Queue({self.address!r}, {len(self.entries)} waiting)"

    def put(self, message: Message) -> None:
        """Store a message and offer it to the consumers."""
        self.entries.append(Entry(message))
        self.dispatch()

    def subscribe(self, link: Sender, browse: bool = False,
                  selector: Selector | None = None) -> None:
        """Start feeding ``link`` (it sends once it has credit), only what ``selector`` matches
        if it has one."""
        self.consumers.append(Consumer(link, browse, selector))
        if selector is not None and not browse:
            self._selective += 1

    def unsubscribe(self, link: Link) -> bool:
        """Stop feeding ``link``; its unsettled messages go back to the queue. True if it was
        a consumer here."""
        for index, consumer in enumerate(self.consumers):
            if consumer.link is link:
                del self.consumers[index]
                if consumer.selector is not None and not consumer.browse:
                    self._selective -= 1
                for entry in consumer.unacked.values():
                    self._requeue(entry, failed=True)
                if consumer.unacked:
                    log.info("%d unsettled message(s) of %s back on %s",
                             len(consumer.unacked), link.name, self.address)
                self.dispatch()
                return True
        return False

    def outcome(self, link: Link, delivery: Delivery) -> None:
        """Apply the consumer's outcome for ``delivery``: forget, or put back in the queue."""
        consumer = self._consumer(link)
        entry = consumer.unacked.pop(delivery, None) if consumer is not None else None
        if entry is None:
            return
        state = delivery.remote_state
        log.debug("%s from %s on %s", state, link.name, self.address)
        if state == Delivery.REJECTED:
            log.info("message rejected on %s, dropped", self.address)
        elif state == Delivery.MODIFIED:
            self._requeue(entry, failed=delivery.remote.failed)
        elif state != Delivery.ACCEPTED:  # released, or settled with no outcome
            self._requeue(entry, failed=False)
        self.dispatch()

    def take(self, link: Link, delivery: Delivery) -> Entry | None:
        """Take ``delivery``'s entry from its consumer, for a transaction to decide its fate
        (None if the consumer no longer holds it)."""
        consumer = self._consumer(link)
        return consumer.unacked.pop(delivery, None) if consumer is not None else None

    def give_back(self, entries: list[Entry], failed: bool) -> None:
        """Put taken entries back in their places (``failed``: one more failed attempt each),
        then offer them to the consumers."""
        for entry in entries:
            self._requeue(entry, failed)
        self.dispatch()

    def dispatch(self) -> None:
        """Send waiting messages to consumers with credit, in turn; then browsers catch up."""
        movers = [c for c in self.consumers if not c.browse]
        if self._selective:
            self._dispatch_selected(movers)
        else:
            entries = self.entries
            while entries and movers:
                consumer = self._next_with_credit(movers)
                if consumer is None:
                    break
                self._deliver(consumer, entries.popleft())
        for browser in self.consumers:
            if browser.browse:
                self._browse(browser)
        for consumer in self.consumers:
            if consumer.can_send() and consumer.link.drain_mode:
                consumer.link.drained()

    def _dispatch_selected(self, movers: list[Consumer]) -> None:
        """Some competing consumer has a selector: each waiting entry, in order, goes to the
        next consumer in turn with credit whose selector (if any) matches it; the others stay,
        in order. Stops once no consumer has credit."""
        count = len(movers)
        ready = [consumer.can_send() for consumer in movers]
        if not any(ready):
            return  # nothing can move: leave the queue as it is
        waiting = self.entries
        kept: deque[Entry] = deque()
        while waiting and any(ready):
            entry = waiting.popleft()
            for step in range(count):
                index = (self._turn + step) % count
                consumer = movers[index]
                selector = consumer.selector
                if ready[index] and (selector is None or selector(entry.message)):
                    self._turn = (index + 1) % count
                    self._deliver(consumer, entry)
                    ready[index] = consumer.can_send()
                    break
            else:
                kept.append(entry)
        kept.extend(waiting)
        self.entries = kept

    def _deliver(self, consumer: Consumer, entry: Entry) -> None:
        """Send ``entry`` to a competing consumer; it is unsettled until its outcome comes."""
        delivery = self._send(consumer.link, entry)
        if not consumer.presettled():
            consumer.unacked[delivery] = entry

    def _next_with_credit(self, movers: list[Consumer]) -> Consumer | None:
        count = len(movers)
        for step in range(count):
            consumer = movers[(self._turn + step) % count]
            if consumer.can_send():
                self._turn = (self._turn + step + 1) % count
                return consumer
        return None

    def _browse(self, browser: Consumer) -> None:
        entries = self.entries
        selector = browser.selector
        index = _position(entries, browser.cursor)
        while index < len(entries) and browser.can_send():
            entry = entries[index]
            if selector is None or selector(entry.message):
                self._send(browser.link, entry)
            browser.cursor = entry.seq
            index += 1

    @staticmethod
    def _send(link: Sender, entry: Entry) -> Delivery:
        message = entry.message
        message.delivery_count = entry.delivery_count
        delivery: Delivery = link.send(message)
        return delivery

    def _requeue(self, entry: Entry, failed: bool) -> None:
        if failed:
            entry.delivery_count += 1
        self.entries.insert(_position(self.entries, entry.seq), entry)

    def _consumer(self, link: Link) -> Consumer | None:
        for consumer in self.consumers:
            if consumer.link is link:
                return consumer
        return None
