"""Reconnect delay policies: ``Backoff`` and the adapter for user objects with reset()/next().

A policy gives the delay before each reconnect attempt of one outage. ``reset()`` starts a new
outage; ``next()`` gives the next delay, or raises ``StopIteration`` when attempts run out.
Backoff starts over for each outage (python-qpid-proton's keeps growing across outages).
``reconnect=`` may also be a list (or any other iterable) of delays, as in python-qpid-proton:
each outage iterates it afresh, one delay per attempt, and gives up at its end.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any


class Backoff:
    """Delays 0, initial, initial*factor, ... up to ``max_delay`` seconds (default 10)."""

    def __init__(
        self,
        initial: float = 0.1,
        factor: float = 2.0,
        max_delay: float = 10.0,
        max_tries: int | None = None,
        jitter: float = 0.0,
    ) -> None:
        if initial < 0 or factor < 1 or max_delay < 0:
            raise ValueError("Backoff needs initial >= 0, factor >= 1 and max_delay >= 0")
        if max_tries is not None and max_tries < 1:
            raise ValueError("Backoff max_tries must be at least 1 (or None for no limit)")
        if not 0 <= jitter <= 1:
            raise ValueError("Backoff jitter is a fraction between 0 and 1")
        self.initial = initial
        self.factor = factor
        self.max_delay = max_delay
        self.max_tries = max_tries
        self.jitter = jitter
        # The delay the next next() gives (before jitter), 0 at the start of an outage: public,
        # as in earlier python-qpid-proton releases, whose subclasses read and set it.
        self.delay = 0.0
        self._tries = 0

    def reset(self) -> None:
        """Start a new outage: the next delay is 0 again."""
        self.delay = 0.0
        self._tries = 0

    def next(self) -> float:
        """The delay before the next attempt; StopIteration when ``max_tries`` is used up."""
        if self.max_tries is not None and self._tries >= self.max_tries:
            raise StopIteration(f"gave up after {self._tries} reconnect attempts")
        self._tries += 1
        delay = self.delay
        self.delay = min(self.max_delay, self.initial if delay == 0 else delay * self.factor)
        if self.jitter and delay:
            delay *= 1 + random.uniform(-self.jitter, self.jitter)
        return delay

    def __iter__(self) -> Iterator[float]:
        self.reset()
        while True:
            try:
                yield self.next()
            except StopIteration:
                return


class Delays:
    """A list (or other iterable) of delays as a policy: each outage starts a new pass over it
    (a one-shot iterator, such as a generator, is not restarted: once used up, it stays so)."""

    def __init__(self, delays: Iterable[Any]) -> None:
        if isinstance(delays, Sequence):
            for delay in delays:
                _check_delay(delay)
        self.delays = delays
        self._iter: Iterator[Any] = iter(delays)

    def reset(self) -> None:
        """A new outage: iterate the delays again from the start."""
        self._iter = iter(self.delays)

    def next(self) -> float:
        """The next delay; StopIteration at the end of the delays."""
        return _check_delay(next(self._iter))


def _check_delay(delay: Any) -> float:
    """A delay from a list given as ``reconnect=``, as a float; TypeError/ValueError naming it
    when it is not a number of seconds >= 0."""
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TypeError(
            f"reconnect delays must be numbers of seconds, not {type(delay).__name__}"
        )
    if not delay >= 0:
        raise ValueError(f"reconnect delays must be >= 0 seconds, not {delay!r}")
    return float(delay)


class Policy:
    """Wraps whatever ``reconnect=`` was given: a Backoff, a user object, or False/None."""

    def __init__(self, reconnect: Any) -> None:
        if reconnect is False:
            self._impl: Any = None
        elif reconnect is None or reconnect is True:
            self._impl = Backoff()
        elif callable(getattr(reconnect, "next", None)) and callable(
            getattr(reconnect, "reset", None)
        ):
            self._impl = reconnect
        elif isinstance(reconnect, Iterable) and not isinstance(reconnect, (str, bytes)):
            self._impl = Delays(reconnect)
        else:
            raise TypeError(
                "reconnect must be False, a Backoff, a list of delays in seconds, or an object "
                f"with reset() and next() methods; got {type(reconnect).__name__}"
            )

    @property
    def enabled(self) -> bool:
        """False when reconnect=False: one attempt, no failover."""
        return self._impl is not None

    def reset(self) -> None:
        """A new outage begins."""
        if self._impl is not None:
            self._impl.reset()

    def next(self) -> float | None:
        """The next delay in seconds, or None when no more attempts may be made."""
        if self._impl is None:
            return None
        try:
            delay = self._impl.next()
        except StopIteration:
            return None
        return None if delay is None else float(delay)
