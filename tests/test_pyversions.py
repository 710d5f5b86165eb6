"""The oldest and newest supported CPythons (3.9, 3.13) byte-compile amq_python and build.py.

The suite runs on one interpreter; this catches syntax the others reject (a ``match`` on 3.9, a
removed construct on 3.13) without the tox runs, by compiling with each one when it is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["amq_python", "proton_ext/build.py"]


def find_python(version: str) -> str | None:
    """Return an interpreter that really runs as CPython ``version`` (PATH, pyenv), or None."""
    candidates = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv = Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser() / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"))]
    for exe in candidates:
        probe = subprocess.run(
            [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        # A pyenv shim for a version not selected exits non-zero: try the next candidate.
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return exe
    return None


def compile_with(exe: str, targets: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    """Byte-compile ``targets`` (repo-relative) with ``exe``, bytecode going under ``cache``."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(cache))
    return subprocess.run(
        [exe, "-m", "compileall", "-q", *targets],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_compiles_on(version: str, tmp_path: Path) -> None:
    exe = find_python(version)
    if exe is None:
        pytest.skip(f"no CPython {version} interpreter on PATH or under pyenv's versions")
    done = compile_with(exe, TARGETS, tmp_path)
    assert done.returncode == 0, f"CPython {version} cannot compile:\n{done.stdout}{done.stderr}"


def test_oldest_rejects_newer_syntax(tmp_path: Path) -> None:
    """The check can fail: 3.9 rejects a ``match`` statement, which 3.10 and later accept."""
    exe = find_python("3.9")
    if exe is None:
        pytest.skip("no CPython 3.9 interpreter on PATH or under pyenv's versions")
    source = tmp_path / "uses_match.py"
    source.write_text("match 1:\n    case 1:\n        pass\n")
    done = compile_with(exe, [str(source)], tmp_path / "cache")
    assert done.returncode != 0
    assert "SyntaxError" in done.stdout + done.stderr
