"""What the driver measures: the variants (who talks to whom) and the cases (what they do).

A ``Variant`` names the library of the measuring process (``impl``) and of its peer (``peer``):
``proton`` and ``amq_python`` talk to themselves, ``amq_python->proton`` is our client against
python-qpid-proton's listener, and ``rhea`` and ``rhea->amq_python`` are the Node.js sender
against proton's listener and against ours. Through a broker (scenario 6) ``impl`` is the
producer's library and ``peer`` the consumer's, so ``proton->amq_python`` joins the mixed pair.

A ``Case`` turns one variant into one set of numbers by starting the processes of
``bench/scenarios`` (and ``bench/rhea``); ``all_cases`` lists them in the order they run.
"""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.procs import REPO, ChildError, free_port, listening, measure, result, started

RHEA_SENDER = REPO / "bench" / "rhea" / "sender.js"


@dataclass(frozen=True)
class Variant:
    """One column of the comparison: the measuring process's library and its peer's, and the
    tree their processes run in (another revision's for a baseline, see ``bench.baseline``)."""

    label: str
    impl: str
    peer: str
    root: Path = REPO


def baseline_variant(rev: str, root: Path) -> Variant:
    """``amq_python@REV``: amq_python on both sides, as it was at revision ``rev``."""
    return Variant(f"amq_python@{rev}", "amq_python", "amq_python", root)


PROTON = Variant("proton", "proton", "proton")
AMQ = Variant("amq_python", "amq_python", "amq_python")
MIXED = Variant("amq_python->proton", "amq_python", "proton")
RHEA = Variant("rhea", "rhea", "proton")
RHEA_AMQ = Variant("rhea->amq_python", "rhea", "amq_python")
REVERSE = Variant("proton->amq_python", "proton", "amq_python")
AIO = Variant("aio", "aio", "amq_python")  # amq_python.aio against amq_python's listener
TRACED = Variant("amq_python+tracing", "amq_python+tracing", "amq_python+tracing")
AIO_TRACED = Variant("aio+tracing", "aio+tracing", "amq_python+tracing")  # both sides traced
AIOS = (AIO.impl, AIO_TRACED.impl)
RHEAS = (RHEA, RHEA_AMQ)

# The brokers of scenario 6, each a command line printing one line once it listens: ours picks
# a free port and names it; python-qpid-proton's test broker takes {port} and prints READY.
AMQ_BROKER = (sys.executable, "-m", "amq_python.broker", "--port", "0")
PROTON_BROKER = (sys.executable, "-m", "tests.peers.proton_broker", "{port}")


@dataclass(frozen=True)
class Settings:
    """Sizes of the work; ``quick`` shrinks them to a smoke test."""

    n: int = 100_000
    requests: int = 5_000
    warmup: int = 500
    idle_connections: int = 1_000
    scale_connections: tuple[int, ...] = (1, 10, 100, 1_000)
    startup_samples: int = 5
    big_message: int = 100_000_000
    timeout: float = 300.0

    @classmethod
    def quick(cls) -> Settings:
        """Small numbers: the whole run takes seconds, enough to show that every case works."""
        return cls(
            n=2_000,
            requests=200,
            warmup=50,
            idle_connections=100,
            startup_samples=2,
            big_message=10_000_000,
            timeout=60.0,
        )


Runner = Callable[[Variant, Settings], dict[str, float]]


@dataclass(frozen=True)
class Case:
    """One row group of the results: a scenario with its parameters."""

    title: str
    metrics: tuple[str, ...]
    run: Runner
    variants: tuple[Variant, ...]


def _module(name: str, impl: str, port: int, *args: object) -> list[str]:
    """The command line of a scenario role: ``python -m bench.scenarios.NAME ARGS...``."""
    argv = [sys.executable, "-m", f"bench.scenarios.{name}", *map(str, args)]
    return argv + ["--impl", impl, "--port", str(port)]


def _aio(impl: str, role: str, port: int, *args: object) -> list[str]:
    """The command line of an ``amq_python.aio`` measuring role (``bench.scenarios.aio_client``),
    with ``amq_python.tracing`` on for ``aio+tracing``."""
    return [
        sys.executable,
        "-m",
        "bench.scenarios.aio_client",
        role,
        "--port",
        str(port),
        *map(str, args),
        *(["--tracing"] if impl == AIO_TRACED.impl else []),
    ]


def throughput(size: int, prefetch: int, connections: int = 1) -> Runner:
    """Scenarios 1 and 5: a ``throughput listen`` process and a sender process."""

    def run(variant: Variant, settings: Settings) -> dict[str, float]:
        port = free_port()
        work = ["--n", str(settings.n), "--size", str(size)]
        if variant.impl == "rhea":
            sender = ["node", str(RHEA_SENDER), "--port", str(port), *work]
        elif variant.impl in AIOS:
            sender = _aio(variant.impl, "send", port, *work)
        else:
            sender = _module("throughput", variant.impl, port, "send", *work)
            sender += ["--connections", str(connections)]
        listener = _module("throughput", variant.peer, port, "listen", "--prefetch", prefetch)
        with listening(listener, cwd=variant.root):
            return measure(sender, settings.timeout, variant.root)

    return run


def receiving(size: int, credit: int) -> Runner:
    """Scenario 1r: a ``receiving serve`` process and a receiving process with ``credit``."""

    def run(variant: Variant, settings: Settings) -> dict[str, float]:
        port = free_port()
        serve = _module("receiving", variant.peer, port, "serve", "--n", settings.n, "--size", size)
        work = ["--n", str(settings.n), "--credit", str(credit)]
        if variant.impl in AIOS:
            receiver = _aio(variant.impl, "receive", port, *work)
        else:
            receiver = _module("receiving", variant.impl, port, "fetch", *work)
        with listening(serve, cwd=variant.root):
            return measure(receiver, settings.timeout, variant.root)

    return run


def _broker_port(argv: list[str], first_line: str) -> int:
    """The port a broker listens on, from the line it printed once listening."""
    if first_line == "READY":
        return int(argv[-1])
    if first_line.startswith("listening on "):
        return int(first_line.rsplit(":", 1)[1].split()[0])
    raise ChildError(f"broker printed {first_line!r}: {' '.join(argv)}")


def brokered(broker: tuple[str, ...], size: int, prefetch: int) -> Runner:
    """Scenario 6: a producer and a consumer process meeting on a queue of a broker process.

    The rate is over the whole path, from the producer's first send to the consumer's last
    accept (both on CLOCK_MONOTONIC; see ``bench.scenarios.brokered``)."""

    def run(variant: Variant, settings: Settings) -> dict[str, float]:
        argv = [part.format(port=free_port()) for part in broker]
        with started(argv, cwd=variant.root) as server:
            port = _broker_port(argv, server.first_line)
            work = ["--n", settings.n]
            consumer = _module("brokered", variant.peer, port, "consume", *work)
            with started(consumer + ["--prefetch", str(prefetch)], cwd=variant.root) as receiving:
                if receiving.first_line != "READY":
                    raise ChildError(f"consumer printed {receiving.first_line!r}")
                producer = _module("brokered", variant.impl, port, "produce", *work)
                producer += ["--size", str(size)]
                began = measure(producer, settings.timeout, variant.root)["started"]
                ended = result(receiving, settings.timeout)["finished"]
            if server.proc.poll() is not None:
                raise ChildError(f"broker exited with {server.proc.returncode}")
        return {"msgs_per_s": settings.n / (ended - began)}

    return run


def latency(variant: Variant, settings: Settings) -> dict[str, float]:
    """Scenario 2: a responder process and a requester process."""
    port = free_port()
    with listening(_module("latency", variant.peer, port, "respond"), cwd=variant.root):
        if variant.impl in AIOS:
            requester = _aio(variant.impl, "request", port)
        else:
            requester = _module("latency", variant.impl, port, "request")
        requester += ["--n", str(settings.requests), "--warmup", str(settings.warmup)]
        return measure(requester, settings.timeout, variant.root)


def startup(variant: Variant, settings: Settings) -> dict[str, float]:
    """Scenario 3: the median of several fresh processes timing import plus ``Container()``.

    Both libraries start from compiled bytecode, as an installed package does (pip compiles
    python-qpid-proton's at install; our source tree is compiled here first, since the
    environment may forbid writing .pyc files when modules are imported)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "amq_python", "proton_ext"],
        check=True,
        capture_output=True,
        cwd=variant.root,
    )
    argv = [sys.executable, "-m", "bench.scenarios.startup", variant.impl]
    samples = [
        measure(argv, settings.timeout, variant.root)["startup_ms"]
        for _ in range(settings.startup_samples)
    ]
    return {"startup_ms": statistics.median(samples)}


def memory(variant: Variant, settings: Settings) -> dict[str, float]:
    """Scenario 4: a process holding idle connections to a ``throughput listen`` process."""
    port = free_port()
    with listening(_module("throughput", variant.peer, port, "listen"), cwd=variant.root):
        holder = _module("memory", variant.impl, port, "--connections", settings.idle_connections)
        return measure(holder, settings.timeout, variant.root)


def big_message(variant: Variant, settings: Settings) -> dict[str, float]:
    """Scenario 4b: one large message from a sender process to a receiver process."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "receiver.json"
        size = ("--size", settings.big_message, "--report", report)
        receiver = _module("bigmessage", variant.peer, port, "receive", *size)
        with listening(receiver, cwd=variant.root):
            sender = _module("bigmessage", variant.impl, port, "send", *size)
            return measure(sender, settings.timeout, variant.root)


def with_baseline(case: Case, baseline: Variant) -> Case:
    """``case`` with ``baseline`` right after the ``amq_python`` variant, where that runs."""
    if AMQ not in case.variants:
        return case
    at = case.variants.index(AMQ) + 1
    return dataclasses.replace(case, variants=(*case.variants[:at], baseline, *case.variants[at:]))


def all_cases(settings: Settings, baseline: Variant | None = None) -> list[Case]:
    """Every case, with the variants each one compares (and ``baseline`` beside amq_python)."""
    cases = _cases(settings)
    return [with_baseline(case, baseline) for case in cases] if baseline else cases


def _cases(settings: Settings) -> list[Case]:
    python = (PROTON, AMQ, MIXED)
    rate = ("msgs_per_s",)
    return [
        Case(
            "1. throughput 100 B, window 1000",
            rate,
            throughput(100, 1000),
            (*python, AIO, TRACED, AIO_TRACED, *RHEAS),
        ),
        Case(
            "1. throughput 100 B, prefetch 10",
            rate,
            throughput(100, 10),
            (*python, AIO, *RHEAS),
        ),
        Case(
            "1. throughput 10 KB, window 1000",
            rate,
            throughput(10240, 1000),
            (*python, AIO, *RHEAS),
        ),
        Case(
            "1. throughput 10 KB, prefetch 10",
            rate,
            throughput(10240, 10),
            (*python, AIO, *RHEAS),
        ),
        Case(
            "1r. receive 100 B, window 1000",
            rate,
            receiving(100, 1000),
            (PROTON, AMQ, AIO),
        ),
        Case(
            "1r. receive 100 B, credit 10",
            rate,
            receiving(100, 10),
            (PROTON, AMQ, AIO),
        ),
        Case(
            "2. request/response latency",
            ("median_ms", "p99_ms"),
            latency,
            (*python, AIO, TRACED, AIO_TRACED),
        ),
        Case("3. start-up: import + Container()", ("startup_ms",), startup, (PROTON, AMQ)),
        Case(
            f"4. memory: {settings.idle_connections} idle connections",
            ("rss_mib", "kib_per_connection"),
            memory,
            python,
        ),
        Case(
            f"4b. memory: one {settings.big_message // 1_000_000} MB message",
            ("sender_mib", "receiver_mib", "sender_x", "receiver_x"),
            big_message,
            (PROTON, AMQ),
        ),
        *(
            Case(
                f"5. scale: {count} connections, 100 B, window 1000",
                ("msgs_per_s", "cpu_us_per_msg"),
                throughput(100, 1000, connections=count),
                python,
            )
            for count in settings.scale_connections
        ),
        Case(
            "6. via amq_python broker: 100 B, window 1000",
            rate,
            brokered(AMQ_BROKER, 100, 1000),
            (*python, REVERSE, TRACED),
        ),
        Case(
            "6b. via proton test broker: 100 B, window 1000",
            rate,
            brokered(PROTON_BROKER, 100, 1000),
            (PROTON, AMQ),
        ),
    ]
