"""Turning samples into the results table: min/median/max, ratios to proton, and the targets.

``Results`` collects, per case and variant, one number per run for each metric (or the error
that stopped the variant). ``table`` renders them as Markdown, which the driver prints and writes
into bench/RESULTS.md together with ``machine`` (the machine and library versions).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from importlib import metadata

from bench.cases import AIO, AIO_TRACED, AMQ, PROTON, RHEAS, TRACED, Case, Variant
from bench.procs import REPO


@dataclass(frozen=True)
class Metric:
    """How to show one number: its title, direction and the issue's target for amq_python."""

    title: str
    higher_is_better: bool
    target: float | None  # bound on the ratio amq_python/proton, from issue 8
    digits: int


METRICS = {
    "msgs_per_s": Metric("msgs/s", True, 5.0, 0),
    "median_ms": Metric("median RTT, ms", False, 0.2, 3),
    "p99_ms": Metric("p99 RTT, ms", False, 0.3, 3),
    "startup_ms": Metric("import + Container(), ms", False, 0.5, 1),
    "rss_mib": Metric("VmRSS, MiB", False, 1.0, 1),
    "cpu_us_per_msg": Metric("sender CPU µs/msg", False, None, 1),
    "kib_per_connection": Metric("KiB per connection", False, None, 1),
    "sender_mib": Metric("sender peak RSS, MiB", False, None, 0),
    "receiver_mib": Metric("receiver peak RSS, MiB", False, None, 0),
    "sender_x": Metric("sender peak / message size", False, None, 2),
    "receiver_x": Metric("receiver peak / message size", False, None, 2),
}
# Issue 8 asks for these numbers, not a ratio; through a broker, the broker bounds the rate.
# 1r (receiving) is issue 14's, for aio's receiver: its target is aio's ratio to amq_python.
NO_TARGET_CASES = ("1r. receive", "5. scale", "6. via", "6b. via")


@dataclass
class Results:
    """Samples per case title, then per variant label, then per metric; failures; skips."""

    samples: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    stopped: str = ""  # why the run ended before its last case, if it did

    def add(self, case: Case, label: str, values: dict[str, float]) -> None:
        """Record one run's numbers."""
        per_metric = self.samples.setdefault(case.title, {}).setdefault(label, {})
        for key in case.metrics:
            per_metric.setdefault(key, []).append(values[key])

    def fail(self, case: Case, label: str, error: str) -> None:
        """Record why a variant stopped in this case."""
        self.errors.setdefault(case.title, {})[label] = error

    def median(self, case: Case, label: str, key: str) -> float | None:
        """The median over runs, or None when the variant has no sample."""
        values = self.samples.get(case.title, {}).get(label, {}).get(key)
        return statistics.median(values) if values else None

    def to_json(self) -> str:
        """Every sample and error, for bench/results-*.json."""
        return json.dumps(
            {"samples": self.samples, "errors": self.errors, "skipped": self.skipped}, indent=2
        )


def _fmt(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def _target(case: Case, key: str, ratio: float | None) -> str:
    metric = METRICS[key]
    if metric.target is None or case.title.startswith(NO_TARGET_CASES):
        return ""
    sign = "≥" if metric.higher_is_better else "≤"
    text = f"{sign} {metric.target:g}"
    if ratio is None:
        return text
    met = ratio >= metric.target if metric.higher_is_better else ratio <= metric.target
    return f"{text}: {'met' if met else 'NOT met'}"


def _row(case: Case, key: str, variant: Variant, results: Results) -> str | None:
    """One table row, or None for a variant that never ran in this case."""
    metric = METRICS[key]
    error = results.errors.get(case.title, {}).get(variant.label)
    values = results.samples.get(case.title, {}).get(variant.label, {}).get(key)
    head = f"| {case.title} | {metric.title} | {variant.label} |"
    if not values:
        return None if error is None else f"{head} 0 | | | | | failed (see below) |"
    base = results.median(case, PROTON.label, key)
    median = statistics.median(values)
    ratio = median / base if base and variant != PROTON else None
    cells = " | ".join(_fmt(v, metric.digits) for v in (min(values), median, max(values)))
    note = _target(case, key, ratio) if variant == AMQ else ""
    if error is not None:
        note += " (a later run failed, see below)"
    return f"{head} {len(values)} | {cells} | {'' if ratio is None else f'{ratio:.2f}'} | {note} |"


def table(cases: list[Case], results: Results) -> str:
    """The Markdown table: one row per case, metric and variant that ran."""
    lines = [
        "| scenario | metric | variant | runs | min | median | max | ratio to proton | target |",
        "|---|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for case in cases:
        for key in case.metrics:
            rows = (_row(case, key, variant, results) for variant in case.variants)
            lines.extend(row for row in rows if row is not None)
    return "\n".join(lines)


def rhea_notes(cases: list[Case], results: Results) -> list[str]:
    """Issue 8 also asks amq_python to be at least as fast as rhea: one line per comparison."""
    notes = []
    for case in cases:
        ours = results.median(case, AMQ.label, "msgs_per_s")
        for rhea in (v for v in RHEAS if v in case.variants):
            theirs = results.median(case, rhea.label, "msgs_per_s")
            if ours and theirs:
                met = "met" if ours >= theirs else "NOT met"
                notes.append(
                    f"- {case.title}: amq_python/{rhea.label} = {ours / theirs:.2f} ({met})"
                )
    return notes


# Issue 14's targets for amq_python.aio against the handler API (Container) in the same run.
AIO_TARGETS = {"msgs_per_s": 0.7, "median_ms": 1.5}


def aio_notes(cases: list[Case], results: Results) -> list[str]:
    """aio over Container, per case and metric with a target: throughput at least 0.7x,
    median latency at most 1.5x."""
    notes = []
    for case in cases:
        if AIO not in case.variants:
            continue
        for key, target in AIO_TARGETS.items():
            ours = results.median(case, AMQ.label, key)
            aio = results.median(case, AIO.label, key)
            if key in case.metrics and ours and aio:
                ratio = aio / ours
                met = ratio >= target if METRICS[key].higher_is_better else ratio <= target
                sign = "≥" if METRICS[key].higher_is_better else "≤"
                notes.append(
                    f"- {case.title}: aio/amq_python {METRICS[key].title} = {ratio:.2f} "
                    f"(target {sign} {target:g}: {'met' if met else 'NOT met'})"
                )
    return notes


def tracing_notes(cases: list[Case], results: Results) -> list[str]:
    """Issue 16 asks for tracing's cost per message: with tracing on against off, per API,
    the time each message (throughput) or round trip (latency) takes longer, in µs."""
    notes = []
    for case in cases:
        for off, on in ((AMQ, TRACED), (AIO, AIO_TRACED)):
            if on not in case.variants:
                continue
            rates = (results.median(case, off.label, "msgs_per_s"),
                     results.median(case, on.label, "msgs_per_s"))
            if "msgs_per_s" in case.metrics and rates[0] and rates[1]:
                cost = (1 / rates[1] - 1 / rates[0]) * 1e6
                notes.append(f"- {case.title}: {on.label} costs {cost:.1f} µs per message "
                             f"over {off.label} ({rates[1] / rates[0]:.2f}x its msgs/s)")
            rtts = (results.median(case, off.label, "median_ms"),
                    results.median(case, on.label, "median_ms"))
            if "median_ms" in case.metrics and rtts[0] and rtts[1]:
                cost = (rtts[1] - rtts[0]) * 1e3
                notes.append(f"- {case.title}: {on.label} costs {cost:.1f} µs per round trip "
                             f"(a request and its reply) over {off.label}, median RTT")
    return notes


# Issue 14: no regression beyond noise against the revision before the engine/driver redesign.
BASELINE_TOLERANCE = 0.05
BASELINE_CHECKED = ("1. throughput", "1r. receive", "2. request")


def _spread(values: list[float]) -> float:
    """(max - min) / median over runs: how far this variant's own runs scatter."""
    return (max(values) - min(values)) / statistics.median(values)


def baseline_notes(cases: list[Case], results: Results, baseline: str) -> list[str]:
    """amq_python over ``baseline`` (a label such as ``amq_python@44a3f21``) per case and metric,
    with the verdict against issue 14's ±5% (marked * where the issue asks for it)."""
    notes = []
    for case in cases:
        for key in case.metrics:
            ours = results.samples.get(case.title, {}).get(AMQ.label, {}).get(key)
            theirs = results.samples.get(case.title, {}).get(baseline, {}).get(key)
            if not ours or not theirs:
                continue
            ratio = statistics.median(ours) / statistics.median(theirs)
            gain = ratio - 1 if METRICS[key].higher_is_better else 1 - ratio
            if abs(gain) <= BASELINE_TOLERANCE:
                verdict = "within ±5%"
            else:
                verdict = f"{'better' if gain > 0 else 'WORSE'} by {abs(gain):.0%}"
            checked = "*" if case.title.startswith(BASELINE_CHECKED) else ""
            notes.append(
                f"- {checked}{case.title}, {METRICS[key].title}: current/baseline = {ratio:.3f}"
                f" ({verdict}; spread of runs {_spread(ours):.0%} current,"
                f" {_spread(theirs):.0%} baseline)"
            )
    return notes


def _output(argv: list[str]) -> str:
    """The stdout of a short command run in the repository, or "" when it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=REPO)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews the numbers."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine(load_at_start: str, extra: list[str] | None = None) -> list[str]:
    """Machine, software versions and load, as Markdown list items (``extra`` ones before
    the load)."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    rhea = REPO / "bench" / "node_modules" / "rhea" / "package.json"
    rhea_version = json.loads(rhea.read_text())["version"] if rhea.exists() else "not installed"
    commit = _output(["git", "rev-parse", "--short", "HEAD"]) or "unknown"
    if _output(["git", "status", "--porcelain", "--", "amq_python", "proton_ext"]):
        commit += " plus uncommitted changes"
    load = load_average()
    return [
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} CPUs (nproc {_output(['nproc']) or '?'}), {cpu}, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- python-qpid-proton {_version('python-qpid-proton')}; amq_python from the source tree"
        f" at git {commit} (installed distribution: {_version('amq_python')}); system Proton C"
        f" {_output(['pkg-config', '--modversion', 'libqpid-proton']) or 'not found'}",
        f"- node {_output(['node', '--version']) or 'not found'}, rhea {rhea_version}",
        *(extra or []),
        f"- load average (1, 5, 15 min) at start: {load_at_start}; at end: {load}",
    ]
