"""Driver: every scenario on python-qpid-proton and amq_python in the same run, alternating.

Each case runs ``--runs`` times; within a run the variants alternate (proton, amq_python,
amq_python->proton, rhea, rhea->amq_python, then proton again ...), so drift on the machine hits
them alike. A variant that cannot start (amq_python does not import, rhea is not installed) is
skipped with a note; one that fails is reported with its error and skipped for the rest of that
case. Every child process is bounded by ``--timeout`` and dies with the driver.

    python3 bench/run.py              # full run, writes bench/RESULTS.md
    python3 bench/run.py --quick      # smoke run with small numbers, writes no RESULTS.md
    python3 bench/run.py --only latency,start-up --runs 5
    python3 bench/run.py --baseline 44a3f21   # also amq_python as it was at that revision

``--baseline REV`` adds an ``amq_python@REV`` variant beside ``amq_python`` in every case: that
revision exported into a temporary tree with its own compiled binding (``bench.baseline``), run
with the current scenarios, and reported as current/baseline ratios.

Raw samples always go to bench/results-<time>.json (ignored by git).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import importlib.util
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline import Baseline, prepared
from bench.cases import (
    AIO,
    AIO_TRACED,
    AMQ,
    MIXED,
    REVERSE,
    RHEA,
    RHEA_AMQ,
    TRACED,
    Case,
    Settings,
    Variant,
    all_cases,
    baseline_variant,
)
from bench.procs import REPO, ChildError
from bench.report import (
    METRICS,
    Results,
    aio_notes,
    baseline_notes,
    load_average,
    machine,
    rhea_notes,
    table,
    tracing_notes,
)

BENCH = REPO / "bench"
AMQ_IMPORT = "import amq_python, amq_python.reactor, amq_python.handlers, amq_python.utils"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``--n`` and friends override the sizes of ``--quick`` or the default."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small numbers, one run: a smoke test")
    p.add_argument("--runs", type=int, help="runs of each case per variant (default 3, quick 1)")
    p.add_argument("--only", help="comma-separated words; run the cases whose title has one")
    p.add_argument("--n", type=int, help="messages per throughput run")
    p.add_argument("--requests", type=int, help="timed round trips per latency run")
    p.add_argument("--timeout", type=float, help="seconds allowed to each child process")
    p.add_argument("--output", type=Path, help="Markdown report (default bench/RESULTS.md)")
    p.add_argument(
        "--baseline", metavar="REV", help="also run amq_python as of git revision REV, side by side"
    )
    return p.parse_args(argv)


def import_error(root: Path) -> str:
    """Why amq_python does not import in tree ``root``, or "" when it does."""
    try:
        check = subprocess.run(
            [sys.executable, "-c", AMQ_IMPORT], cwd=root, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        return "import took over 60 s"
    lines = check.stderr.strip().splitlines() or [f"exit code {check.returncode}"]
    return lines[-1] if check.returncode != 0 else ""


def unavailable(baseline: Variant | None) -> dict[str, str]:
    """Variants that cannot run here, with the reason."""
    reasons: dict[str, str] = {}
    error = import_error(REPO)
    if baseline is not None and (old := import_error(baseline.root)):
        reasons[baseline.label] = f"amq_python does not import there: {old}"
    if error:
        for variant in (AMQ, MIXED, REVERSE, AIO, TRACED, AIO_TRACED):
            reasons[variant.label] = f"amq_python does not import: {error}"
    elif importlib.util.find_spec("opentelemetry.sdk") is None:
        for variant in (TRACED, AIO_TRACED):
            reasons[variant.label] = "opentelemetry-sdk not installed"
    if not (BENCH / "node_modules" / "rhea").is_dir():
        reasons[RHEA.label] = "rhea not installed (npm install --prefix bench)"
    else:
        try:
            subprocess.run(["node", "--version"], capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError):
            reasons[RHEA.label] = "node not found"
    if RHEA.label in reasons or AMQ.label in reasons:
        reasons[RHEA_AMQ.label] = reasons.get(RHEA.label) or reasons[AMQ.label]
    return reasons


def describe(values: dict[str, float], case: Case) -> str:
    """One run's numbers for the progress log."""
    return ", ".join(
        f"{METRICS[key].title} {values[key]:,.{max(METRICS[key].digits, 1)}f}"
        for key in case.metrics
    )


def run_case(case: Case, runs: int, settings: Settings, out: Results) -> None:
    """All runs of one case, alternating its variants (but not those ``out`` says are skipped)."""
    print(f"\n== {case.title}", flush=True)
    variants = [v for v in case.variants if v.label not in out.skipped]
    for run in range(1, runs + 1):
        for variant in list(variants):
            try:
                values = case.run(variant, settings)
            except ChildError as error:
                print(
                    f"   {variant.label} run {run}: FAILED, skipping it here:\n{error}", flush=True
                )
                out.fail(case, variant.label, str(error))
                variants.remove(variant)
                continue
            out.add(case, variant.label, values)
            print(f"   {variant.label} run {run}: {describe(values, case)}", flush=True)


def report(
    cases: list[Case],
    results: Results,
    command: str,
    started_load: str,
    baseline: tuple[Baseline, str] | None = None,
) -> str:
    """The Markdown of bench/RESULTS.md."""
    skipped = [
        f"- {label} skipped everywhere: {reason}" for label, reason in results.skipped.items()
    ]
    errors = [
        f"- {title} / {label} failed:\n\n  ```\n  " + error.replace("\n", "\n  ") + "\n  ```"
        for title, by_label in results.errors.items()
        for label, error in by_label.items()
    ]
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"Produced by `{command}`. Runs alternate between the variants; min/median/max are",
            "over runs; ratios are medians over proton's median (latency: of medians and of p99s).",
            "`amq_python->proton` is our client against python-qpid-proton's listener; `rhea` and",
            "`rhea->amq_python` are the Node.js sender against python-qpid-proton's listener and",
            "against ours; `aio` is our asyncio API (`amq_python.aio`) against our listener",
            "(1r: receiving from our listening sender, timed on the receiving side).",
            "Targets are issue 8's (issue 14's for aio, below); scenarios 5 and 6 have none.",
            "Throughput is timed from the first send to the last ACCEPTED, on the sending side;",
            "through a broker",
            "(6, 6b: `X->Y` is producer X, consumer Y) from the producer's first send to the",
            "consumer's last accept.",
            "",
            "## Machine",
            "",
            *machine(started_load, _baseline_machine(baseline)),
            "",
            "## Results",
            "",
            table(cases, results),
            "",
            "## amq_python against rhea",
            "",
            *(rhea_notes(cases, results) or ["- no amq_python and rhea numbers to compare"]),
            "",
            "## amq_python.aio against the handler API",
            "",
            *(aio_notes(cases, results) or ["- no aio and amq_python numbers to compare"]),
            "",
            "## amq_python.tracing's cost (on against off)",
            "",
            *(tracing_notes(cases, results) or ["- no tracing on and off numbers to compare"]),
            "",
            *_baseline_section(cases, results, baseline),
            "## Skipped and failed",
            "",
            *(
                [f"- {results.stopped}: that case and the ones after it are incomplete"]
                if results.stopped
                else []
            ),
            *(skipped + errors or ([] if results.stopped else ["- none"])),
            "",
        ]
    )


def _baseline_machine(baseline: tuple[Baseline, str] | None) -> list[str]:
    if baseline is None:
        return []
    base, how = baseline
    return [f"- baseline `amq_python@{base.rev}`: {base.subject!r}; {how}"]


def _baseline_section(
    cases: list[Case], results: Results, baseline: tuple[Baseline, str] | None
) -> list[str]:
    """The current tree against the baseline revision, as Markdown lines."""
    if baseline is None:
        return []
    label = f"amq_python@{baseline[0].rev}"
    notes = baseline_notes(cases, results, label)
    return [
        f"## amq_python against {label}",
        "",
        "The current tree over the baseline revision, medians over the same runs (latency: a",
        "ratio below 1 is faster). Issue 14 asks for no regression beyond ±5% in the rows",
        "marked *.",
        "",
        *(notes or [f"- no amq_python and {label} numbers to compare"]),
        "",
    ]


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> None:
    """Run the selected cases and write the reports."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    settings = Settings.quick() if args.quick else Settings()
    overrides = {"n": args.n, "requests": args.requests, "timeout": args.timeout}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v})
    runs = args.runs or (1 if args.quick else 3)
    words = [w.strip().lower() for w in args.only.split(",")] if args.only else []
    with contextlib.ExitStack() as stack:
        baseline = stack.enter_context(prepared(args.baseline)) if args.baseline else None
        old = baseline_variant(baseline[0].rev, baseline[0].root) if baseline else None
        if baseline:
            print(f"baseline amq_python@{baseline[0].rev} in {baseline[0].root}: {baseline[1]}")
        cases = [
            c
            for c in all_cases(settings, old)
            if not words or any(w in c.title.lower() for w in words)
        ]
        started_load = load_average()
        results = Results(skipped=unavailable(old))
        for label, reason in results.skipped.items():
            print(f"NOTE: {label} skipped: {reason}", flush=True)
        try:
            for case in cases:
                run_case(case, runs, settings, results)
        except (KeyboardInterrupt, SystemExit) as stop:  # report what was measured so far
            results.stopped = f"the run was stopped ({stop or 'interrupted'}) during {case.title!r}"
            print(f"\n{results.stopped}", flush=True)

    print("\n" + table(cases, results))
    print("\n".join(["", *rhea_notes(cases, results)]))
    if old:
        print("\n".join(["", *baseline_notes(cases, results, old.label)]))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (BENCH / f"results-{stamp}.json").write_text(results.to_json() + "\n", encoding="utf-8")
    output = args.output or (None if args.quick else BENCH / "RESULTS.md")
    if output:
        command = " ".join(["python3 bench/run.py", *(argv if argv is not None else sys.argv[1:])])
        text = report(cases, results, command, started_load, baseline)
        output.write_text(text, encoding="utf-8")
        print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
