"""CPU instructions per message, counted by callgrind: a comparison that other load on the
machine does not skew (wall-clock rates do).

For each case and variant the measuring process (the sender, or the requester) runs under
``valgrind --tool=callgrind`` twice, with ``--small`` and ``--large`` messages (round trips),
against its usual peer running natively; the difference of the two instruction totals over the
difference of the counts is its cost per message, start-up and connection set-up cancelled out.
The peer is not counted. Under callgrind the measured process runs some 50 times slower, so its
peer always keeps up: the numbers are the cost of the work, not of waiting.

    python3 bench/callgrind.py                      # amq_python and aio
    python3 bench/callgrind.py --baseline 44a3f21   # and amq_python as of that revision
    python3 bench/callgrind.py --only "prefetch 10" --large 20000
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline import prepared
from bench.cases import AIO, AMQ, Variant, _aio, _module, baseline_variant
from bench.procs import ChildError, free_port, listening, measure


@dataclass(frozen=True)
class Scenario:
    """What one case runs: the peer's role and the measuring role, per message count."""

    title: str
    listener: tuple[str, ...]  # bench.scenarios.NAME and its arguments (the peer)
    size: int
    role: str = "send"  # what the measured process does: send, receive (--credit) or request
    credit: int = 0


SCENARIOS = (
    Scenario(
        "1. throughput 100 B, window 1000", ("throughput", "listen", "--prefetch", "1000"), 100
    ),
    Scenario("1. throughput 100 B, prefetch 10", ("throughput", "listen", "--prefetch", "10"), 100),
    Scenario(
        "1. throughput 10 KB, window 1000", ("throughput", "listen", "--prefetch", "1000"), 10240
    ),
    Scenario(
        "1. throughput 10 KB, prefetch 10", ("throughput", "listen", "--prefetch", "10"), 10240
    ),
    Scenario(
        "1r. receive 100 B, window 1000",
        ("receiving", "serve", "--n", "1000000"),
        100,
        role="receive",
        credit=1000,
    ),
    Scenario(
        "1r. receive 100 B, credit 10",
        ("receiving", "serve", "--n", "1000000"),
        100,
        role="receive",
        credit=10,
    ),
    Scenario("2. request/response latency", ("latency", "respond"), 100, role="request"),
)


def _measuring(scenario: Scenario, variant: Variant, port: int, n: int) -> list[str]:
    if scenario.role == "request":
        work = ["--n", str(n), "--warmup", "50"]
        if variant.impl == "aio":
            return _aio(variant.impl, "request", port, *work)
        return _module("latency", variant.impl, port, "request", *work)
    if scenario.role == "receive":
        work = ["--n", str(n), "--credit", str(scenario.credit)]
        if variant.impl == "aio":
            return _aio(variant.impl, "receive", port, *work)
        return _module("receiving", variant.impl, port, "fetch", *work)
    work = ["--n", str(n), "--size", str(scenario.size)]
    if variant.impl == "aio":
        return _aio(variant.impl, "send", port, *work)
    return _module("throughput", variant.impl, port, "send", *work)


def instructions(scenario: Scenario, variant: Variant, n: int, timeout: float) -> int:
    """Instructions the measuring process of one run executed, by callgrind's summary."""
    port = free_port()
    name, *args = scenario.listener
    peer = _module(name, variant.peer, port, *args)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        valgrind = ["valgrind", "--tool=callgrind", "-q", f"--callgrind-out-file={out}"]
        with listening(peer, cwd=variant.root):
            measure(valgrind + _measuring(scenario, variant, port, n), timeout, variant.root)
        for line in out.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise ChildError(f"no summary line in {out}")


def per_message(
    scenario: Scenario, variant: Variant, small: int, large: int, timeout: float
) -> float:
    """Instructions per message (round trip): the two runs' difference over the counts'."""
    few = instructions(scenario, variant, small, timeout)
    many = instructions(scenario, variant, large, timeout)
    return (many - few) / (large - small)


def table(results: dict[tuple[str, str], float | str], variants: list[Variant]) -> str:
    """Markdown: instructions per message per case and variant, and the ratio to amq_python."""
    lines = [
        "| scenario | variant | instructions per message | ratio to amq_python |",
        "|---|---|--:|--:|",
    ]
    for scenario in SCENARIOS:
        ours = results.get((scenario.title, AMQ.label))
        for variant in variants:
            value = results.get((scenario.title, variant.label))
            if value is None:
                continue
            if isinstance(value, str):
                lines.append(f"| {scenario.title} | {variant.label} | failed: {value} | |")
                continue
            ratio = f"{value / ours:.2f}" if isinstance(ours, float) and variant != AMQ else ""
            lines.append(f"| {scenario.title} | {variant.label} | {value:,.0f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Count every selected case on every variant, two processes at a time."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", metavar="REV", help="also amq_python as of git revision REV")
    p.add_argument("--only", help="comma-separated words; the cases whose title has one")
    p.add_argument("--small", type=int, default=2_000, help="messages in the short run")
    p.add_argument("--large", type=int, default=10_000, help="messages in the long run")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to each run")
    p.add_argument("--jobs", type=int, default=2, help="runs at once")
    p.add_argument("--skip", default="", help="comma-separated variant labels to leave out")
    args = p.parse_args(argv)
    words = [w.strip().lower() for w in args.only.split(",")] if args.only else []
    scenarios = [s for s in SCENARIOS if not words or any(w in s.title.lower() for w in words)]
    with contextlib.ExitStack() as stack:
        variants = [AMQ, AIO]
        if args.baseline:
            base, how = stack.enter_context(prepared(args.baseline))
            print(f"baseline amq_python@{base.rev}: {how}", flush=True)
            variants.append(baseline_variant(base.rev, base.root))
        skip = {label.strip() for label in args.skip.split(",") if label.strip()}
        variants = [v for v in variants if v.label not in skip]
        work = [(s, v) for s in scenarios for v in variants]

        def count(item: tuple[Scenario, Variant]) -> float | str:
            scenario, variant = item
            try:
                value: float | str = per_message(
                    scenario, variant, args.small, args.large, args.timeout
                )
            except (ChildError, subprocess.SubprocessError, OSError) as error:
                value = str(error).splitlines()[0]
            print(f"   {scenario.title} / {variant.label}: {value}", flush=True)
            return value

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            values = list(pool.map(count, work))
    results = {(s.title, v.label): value for (s, v), value in zip(work, values)}
    print("\n" + table(results, variants))


if __name__ == "__main__":
    main()
