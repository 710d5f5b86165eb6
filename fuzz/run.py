"""Run the fuzz targets of ``fuzz/targets.py`` for a while; ``make fuzz`` calls this.

    .venv/bin/python fuzz/run.py --duration 600            # every target, 600 s in all
    .venv/bin/python fuzz/run.py --duration 60 url_parse   # one target

Each target runs in its own child process (``--child``), because some inputs could make the C
engine abort (a failed C assert kills the process, not just the test). The child drives the
target with hypothesis in batches until its time is up, writing each input to a file before
running it; so when the child dies of a signal, or stops making progress, the parent still has
the input that did it. A failing input (an exception that is not a documented error type, or a
failed invariant) is shrunk by hypothesis and printed. Findings go to ``fuzz/findings/``; the
exit status is 1 when there was any.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FINDINGS = HERE / "findings"


def child(name: str, seconds: float, last: Path, max_examples: int, first_seed: int | None
          ) -> int:
    """Fuzz one target for ``seconds``; 0 when nothing failed, 1 after printing a failure.
    Batches use random seeds, or ``first_seed``, ``first_seed + 1``, ... (a repeatable run)."""
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis.errors import FlakyStrategyDefinition

    from fuzz.targets import STRATEGIES, TARGETS

    target = TARGETS[name]
    examples = 0

    def run_one(value: Any) -> None:
        nonlocal examples
        examples += 1
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
        with open(last, "wb") as f:
            f.write(data)
        target(value)

    deadline = time.monotonic() + seconds
    batch = 0
    while time.monotonic() < deadline and examples < max_examples:
        batch += 1
        test = settings(
            max_examples=min(500, max_examples - examples),
            deadline=2000,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
        )(given(STRATEGIES[name])(run_one))
        batch_seed = int.from_bytes(os.urandom(4), "big") if first_seed is None else (
            first_seed + batch)
        test = seed(batch_seed)(test)
        try:
            test()
        except FlakyStrategyDefinition as e:  # hypothesis's own replay trouble, not a finding
            print(f"{name}: batch {batch} skipped: {type(e).__name__}")
        except Exception as e:  # the shrunk failure: report it
            traceback.print_exc()
            print(f"{name}: FAILED after {examples} examples: {type(e).__name__}: {e}")
            return 1
    print(f"{name}: {examples} examples in {seconds:.0f} s, no failure")
    return 0


def parent(names: list[str], duration: float, max_examples: int, first_seed: int | None
           ) -> int:
    """Run each target in a child for its share of ``duration``; report crashes and hangs."""
    FINDINGS.mkdir(exist_ok=True)
    share = duration / len(names)
    found = 0
    for name in names:
        last = FINDINGS / f"{name}.last"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name,
               "--duration", str(share), "--max-examples", str(max_examples), "--last", str(last)]
        if first_seed is not None:
            cmd += ["--seed", str(first_seed)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=share + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            out += f"\n{name}: HANG: no result {share + 60:.0f} s after start"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        status = proc.returncode
        print(out.rstrip())
        if status != 0:
            found += 1
            kept = FINDINGS / f"{name}-{int(time.time())}.input"
            if last.exists():
                kept.write_bytes(last.read_bytes())
            reason = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
            print(f"{name}: {reason}; last input kept in {kept}: {kept.read_bytes()[:200]!r}")
        last.unlink(missing_ok=True)
    print(f"fuzz: {len(names)} targets, {duration:.0f} s, {found} with findings")
    return 1 if found else 0


def main() -> int:
    """Parse the command line and run the parent or the child."""
    sys.path.insert(0, str(HERE.parent))
    from fuzz.targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("targets", nargs="*",
                        help=f"targets to run (default: all): {', '.join(TARGETS)}")
    parser.add_argument("--duration", type=float, default=600.0,
                        help="seconds in all (the parent) or for one target (a child)")
    parser.add_argument("--max-examples", type=int, default=10**9,
                        help="stop a target after this many inputs")
    parser.add_argument("--seed", type=int, help="repeatable run: seed of the first batch")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--last", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {unknown}; choose from {', '.join(TARGETS)}")
    if args.child:
        return child(args.child, args.duration, args.last, args.max_examples, args.seed)
    return parent(args.targets or list(TARGETS), args.duration, args.max_examples, args.seed)


if __name__ == "__main__":
    sys.exit(main())
