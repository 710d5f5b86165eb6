"""Another git revision of amq_python, runnable beside the current tree in the same bench run.

``prepared(rev)`` exports ``rev`` (``git archive``, so the repository's own state is untouched)
into a temporary directory, puts the current ``bench/`` package in it (the scenarios are the
same code for both; only ``amq_python`` and ``proton_ext`` are the revision's) and gives it its
own compiled ``proton_ext._cproton``: copied from this tree when ``proton_ext/`` is unchanged
since ``rev`` (the same C code), built with ``proton_ext/build.py`` otherwise. The driver runs
that variant's processes with the directory as working directory, where ``python -m`` finds its
``amq_python`` first. The directory is removed when the block ends.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.procs import REPO


class BaselineError(RuntimeError):
    """The revision could not be exported or built; the message says why."""


@dataclass(frozen=True)
class Baseline:
    """A prepared revision: its short hash, its subject line, and the tree to run it from."""

    rev: str
    subject: str
    root: Path


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise BaselineError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def _compiled_module(tree: Path) -> Path | None:
    found = sorted((tree / "proton_ext").glob("_cproton*.so"))
    return found[0] if found else None


def _build(tree: Path, full: str) -> str:
    """Give ``tree`` its compiled binding; say how."""
    current = _compiled_module(REPO)
    unchanged = subprocess.run(
        ["git", "diff", "--quiet", full, "--", "proton_ext"], cwd=REPO, check=False
    )
    if current is not None and unchanged.returncode == 0:
        shutil.copy2(current, tree / "proton_ext" / current.name)
        return "proton_ext unchanged since then: its compiled module copied from this tree"
    # setuptools would read the revision's pyproject.toml while compiling and may refuse it
    # (an older setuptools than the one pip builds with); the binding needs none of it.
    pyproject = tree / "pyproject.toml"
    if pyproject.exists():
        pyproject.rename(tree / "pyproject.toml.off")
    done = subprocess.run(
        [sys.executable, "proton_ext/build.py"], cwd=tree, capture_output=True, text=True
    )
    if done.returncode != 0 or _compiled_module(tree) is None:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BaselineError(f"building proton_ext at {full[:10]} failed:\n{tail}")
    return "proton_ext built from that revision's sources"


@contextlib.contextmanager
def prepared(rev: str) -> Iterator[tuple[Baseline, str]]:
    """Export and build ``rev``; yield it and a note on how its binding was made."""
    full = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    short = _git("rev-parse", "--short", full)
    subject = _git("log", "-1", "--format=%s", full)
    with tempfile.TemporaryDirectory(prefix=f"amq-bench-{short}-") as scratch:
        tree = Path(scratch)
        archive = subprocess.Popen(["git", "archive", full], cwd=REPO, stdout=subprocess.PIPE)
        unpacked = subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout)
        if archive.stdout:
            archive.stdout.close()
        if archive.wait() != 0 or unpacked.returncode != 0:
            raise BaselineError(f"git archive {full[:10]} | tar -x failed")
        shutil.rmtree(tree / "bench", ignore_errors=True)
        shutil.copytree(
            REPO / "bench",
            tree / "bench",
            ignore=shutil.ignore_patterns("node_modules", "results-*.json", "__pycache__"),
        )
        how = _build(tree, full)
        yield Baseline(short, subject, tree), how
