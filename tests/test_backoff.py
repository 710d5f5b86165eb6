"""Backoff and the reconnect Policy adapter: the delay sequences users configure."""

from __future__ import annotations

import itertools

import pytest

from amq_python._core._backoff import Policy
from amq_python.reactor import Backoff


def test_default_delays_double_from_zero_up_to_ten_seconds() -> None:
    backoff = Backoff()
    backoff.reset()
    delays = [backoff.next() for _ in range(12)]
    assert delays[:8] == pytest.approx([0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4])
    assert delays[8:] == [10, 10, 10, 10]


def test_reset_starts_over_for_each_outage() -> None:
    backoff = Backoff(initial=0.5)
    first = [backoff.next() for _ in range(4)]
    backoff.reset()
    assert [backoff.next() for _ in range(4)] == first == [0, 0.5, 1.0, 2.0]


def test_max_tries_then_stop_iteration() -> None:
    backoff = Backoff(max_tries=3)
    assert [backoff.next() for _ in range(3)] == [0, 0.1, 0.2]
    with pytest.raises(StopIteration, match="after 3"):
        backoff.next()
    assert list(backoff) == [0, 0.1, 0.2]  # iterating starts over too


def test_jitter_stays_within_its_fraction() -> None:
    backoff = Backoff(initial=1, factor=1, jitter=0.25)
    delays = [backoff.next() for _ in range(200)]
    assert delays[0] == 0
    assert all(0.75 <= d <= 1.25 for d in delays[1:])
    assert len(set(delays[1:])) > 100


@pytest.mark.parametrize(
    "kwargs", [{"initial": -1}, {"factor": 0.5}, {"max_tries": 0}, {"jitter": 2}]
)
def test_bad_arguments(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_policy_adapts_false_default_and_user_objects() -> None:
    assert not Policy(False).enabled
    assert Policy(False).next() is None
    default = Policy(None)
    default.reset()
    assert [default.next() for _ in range(3)] == [0, 0.1, 0.2]

    class Fixed:
        def reset(self) -> None:
            self.seq = itertools.count(1)

        def next(self) -> float | None:
            n = next(self.seq)
            return None if n > 2 else n / 10

    policy = Policy(Fixed())
    policy.reset()
    assert [policy.next(), policy.next(), policy.next()] == [0.1, 0.2, None]


def test_policy_rejects_objects_without_reset_and_next() -> None:
    with pytest.raises(TypeError, match="reset\\(\\) and next\\(\\)"):
        Policy(5)
