"""Packaging (issue #17) and the version (issue #18), checked by building and installing.

The module runs ``python -m build`` once (isolated: every build dependency must be declared)
on a copy of this checkout: the files git does not ignore, the ignored ones under the package
directories (build products a developer's tree holds), and planted build products
(``proton_ext/_cproton.c``, a ``.so``, a ``.pyc``, a ``.o``), so their absence from the sdist
always means something. A copy, because setuptools re-reads a ``*.egg-info/SOURCES.txt`` left
in a tree (by ``pip install -e``), which would hide a missing MANIFEST.in rule. ``build`` makes
the sdist, then the wheel from the unpacked sdist alone, which compiles the binding; the wheel
is installed into a fresh virtualenv without system site-packages. The module shares that one
build; its tests look at the parts.

What the sdist must hold is derived from ``git ls-files`` (tracked, plus new files git does not
ignore), by these rules:

- every file under ``amq_python/`` and ``proton_ext/`` (the packages, and the binding's build
  inputs ``build.py``, ``cdef/``, ``csrc/``);
- the top-level files the build or the reader needs: ``setup.py``, ``pyproject.toml``,
  ``MANIFEST.in``, ``README.md`` (the long description), ``LICENSE``, ``CHANGELOG.md``;
- and the metadata the sdist step writes: ``PKG-INFO``, ``setup.cfg``, ``amq_python.egg-info/``.

Nothing else: no tests (they need the whole checkout and its peers), and no build products
(``proton_ext/_cproton.c``, ``*.so``: ignored by git, so never expected).

The getting-started page's install lines run too, as written, in a second fresh venv: pip
builds the sdist there itself.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import amq_python
from tests.docs_blocks import commands, docs_block

ROOT = Path(__file__).resolve().parent.parent
VERSION = amq_python.__version__
SHIPPED_TOP = {"setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "CHANGELOG.md"}
SHIPPED_DIRS = ("amq_python/", "proton_ext/")
GENERATED = {"PKG-INFO", "setup.cfg"}
GENERATED_DIRS = ("amq_python.egg-info/",)
PLANTED = ("proton_ext/_cproton.c", "proton_ext/_cproton.abi3.so", "proton_ext/csrc/hot_path.o",
           "amq_python/__pycache__/_message.cpython-311.pyc")

# A build compiles the C binding; on a busy machine that is slow, but bounded.
pytestmark = pytest.mark.timeout(900)
STEP_TIMEOUT = 600


def run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run a command with no PYTHONPATH; fail with its output if it fails."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass
class Built:
    """What the module's one build made."""

    sdist: Path
    wheel: Path
    python: Path  # the fresh virtualenv's interpreter, with the wheel installed
    home: Path  # a directory outside the checkout, to run it in


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """``python -m build``: the sdist from the checkout, the wheel from the sdist alone; the
    wheel installed into a fresh venv."""
    base = tmp_path_factory.mktemp("packaging")
    tree = base / "tree"
    junk = run("git", "ls-files", "--others", "--ignored", "--exclude-standard", "-z", "--",
               *SHIPPED_DIRS).stdout.split("\0")
    for name in git_files() | {name for name in junk if name}:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    for name in PLANTED:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(b"a build product\n")
    run(sys.executable, "-m", "build", "--outdir", base / "dist", tree)
    sdists = list((base / "dist").glob("*.tar.gz"))
    assert [path.name for path in sdists] == [f"amq_python-{VERSION}.tar.gz"]
    wheels = list((base / "dist").glob("*.whl"))
    assert len(wheels) == 1 and wheels[0].name.startswith(f"amq_python-{VERSION}-"), wheels
    assert len(list((base / "dist").iterdir())) == 2
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python)
    run(*pip, "install", wheels[0], cwd=base)
    yield Built(sdists[0], wheels[0], python, base)


def git_files() -> set[str]:
    """Files git tracks, or would (untracked but not ignored), that exist in the tree."""
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z").stdout
    return {name for name in listed.split("\0") if name and (ROOT / name).is_file()}


def test_sdist_holds_exactly_the_intended_files(built: Built) -> None:
    """The sdist's files are the rules' list: nothing missing, nothing extra."""
    prefix = f"amq_python-{VERSION}/"
    with tarfile.open(built.sdist) as archive:
        names = {member.name for member in archive.getmembers() if member.isfile()}
    assert all(name.startswith(prefix) for name in names), names
    shipped = {name[len(prefix):] for name in names}
    generated = {name for name in shipped if name in GENERATED or name.startswith(GENERATED_DIRS)}
    assert GENERATED <= generated
    expected = {
        name for name in git_files() if name in SHIPPED_TOP or name.startswith(SHIPPED_DIRS)
    }
    assert expected >= SHIPPED_TOP and any(name.startswith("proton_ext/csrc/") for name in expected)
    assert sorted(shipped - generated - expected) == [], "in the sdist but not intended"
    assert sorted(expected - shipped) == [], "intended but missing from the sdist"


def test_wheel_holds_the_compiled_binding_not_its_sources(built: Built) -> None:
    """The wheel has the compiled module and py.typed; the C build inputs stay in the sdist."""
    names = zipfile.ZipFile(built.wheel).namelist()
    assert any(name.startswith("proton_ext/_cproton.") and name.endswith(".so") for name in names)
    assert "amq_python/py.typed" in names and "amq_python/tracing/__init__.py" in names
    assert f"amq_python-{VERSION}.dist-info/licenses/LICENSE" in names
    assert [name for name in names if name.endswith((".c", ".h", ".pyc"))] == []


def test_installed_copy_imports_and_works(built: Built) -> None:
    """In the fresh venv, outside the checkout: the installed package imports, its binding
    loads, a message round-trips, the metadata version is __version__, and the console scripts
    run."""
    check = (
        "import importlib.metadata, sys, amq_python, proton_ext\n"
        "assert not sys.flags.no_site and sys.prefix != sys.base_prefix\n"
        "m = amq_python.Message(body={'k': [1, 2.5]}, properties={'p': 'v'})\n"
        "back = amq_python.Message(); back.decode(m.encode())\n"
        "assert back.body == m.body and back.properties == m.properties\n"
        "print(amq_python.__file__, proton_ext.__file__, amq_python.__version__,"
        " importlib.metadata.version('amq_python'))\n"
    )
    package, binding, version, metadata = run(built.python, "-c", check, cwd=built.home) \
        .stdout.split()
    venv = built.python.parent.parent
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    assert Path(package).is_relative_to(venv) and Path(binding).is_relative_to(venv)
    assert version == metadata == VERSION
    for script in ("amq-send", "amq-receive", "amq-broker"):
        assert "usage" in run(venv / "bin" / script, "--help", cwd=built.home).stdout


def test_installed_diagnose_reports_the_version(built: Built) -> None:
    """``python -m amq_python.diagnose`` of the installed copy names its version."""
    report = json.loads(run(built.python, "-m", "amq_python.diagnose", "--json",
                            cwd=built.home).stdout)
    assert report["amq_python"] == VERSION


def test_twine_check_passes(built: Built) -> None:
    """The metadata of both files renders and is complete (twine check --strict)."""
    done = run(sys.executable, "-m", "twine", "check", "--strict", built.sdist, built.wheel)
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_metadata_is_complete(built: Built) -> None:
    """License, Python requirement, classifiers, URLs and the version, in the sdist's PKG-INFO."""
    with tarfile.open(built.sdist) as archive:
        member = archive.extractfile(f"amq_python-{VERSION}/PKG-INFO")
        assert member is not None
        info = member.read().decode()
    fields = [line.split(": ", 1) for line in info.splitlines() if ": " in line]
    values: dict[str, list[str]] = {}
    for key, value in fields:
        values.setdefault(key, []).append(value)
    assert values["Version"] == [VERSION]
    assert values["License-Expression"] == ["Apache-2.0"]
    assert values["License-File"] == ["LICENSE"]
    assert values["Requires-Python"] == [">=3.9"]
    assert "Typing :: Typed" in values["Classifier"]
    assert len(values["Project-URL"]) >= 3
    assert values["Requires-Dist"] == ["cffi>=1.15", 'opentelemetry-api>=1.20; extra == "tracing"']
    assert values["Provides-Extra"] == ["tracing"]


def test_tested_pythons_agree() -> None:
    """The CPython versions the README says are tested are tox's ``versions`` label and the
    version classifiers, the oldest being ``requires-python``'s."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("Python 3.9 or later."):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    said = set(re.findall(r"\b3\.\d+\b", paragraph))
    label = re.search(r"^\s+versions = (.+)$", (ROOT / "tox.ini").read_text(), re.MULTILINE)
    assert label is not None
    in_tox = {f"{env[2]}.{env[3:]}" for env in label[1].replace(",", " ").split()}
    project = (ROOT / "pyproject.toml").read_text()
    classified = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', project))
    assert said == in_tox == classified, (said, in_tox, classified)
    oldest = min(said, key=lambda version: tuple(map(int, version.split("."))))
    assert f'requires-python = ">={oldest}"' in project


def test_version_has_one_source() -> None:
    """pyproject.toml reads the version from amq_python/_version.py; setup.py sets none; the
    installed metadata, the package and the change log agree."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "amq_python._version.__version__"
    }
    assert "version" not in (ROOT / "setup.py").read_text()
    assert importlib.metadata.version("amq_python") == VERSION
    assert f"## {VERSION}" in (ROOT / "CHANGELOG.md").read_text()


def test_getting_started_install_block(built: Built) -> None:
    """The install lines of the getting-started page, as written (VERSION being this version),
    from the sdist's directory, in a fresh venv with its own pip first on PATH: pip builds and
    installs the sdist, and the installed copy's diagnose names the version."""
    venv = built.home / "getting-started"
    run(sys.executable, "-m", "venv", venv)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    outputs = []
    for line in commands(docs_block("install")):
        done = subprocess.run(["sh", "-c", line.replace("VERSION", VERSION)],
                              cwd=built.sdist.parent, env=env, capture_output=True, text=True,
                              timeout=STEP_TIMEOUT, check=False)
        assert done.returncode == 0, f"{line}:\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    assert outputs[-1].split()[:2] == ["amq_python", VERSION]
    where = run(venv / "bin" / "python", "-c", "import amq_python; print(amq_python.__file__)",
                cwd=built.home).stdout.strip()
    assert Path(where).is_relative_to(venv)


def test_diagnose_prints_the_version() -> None:
    """The text report's first line is amq_python's version and the proton API it keeps."""
    done = run(sys.executable, "-m", "amq_python.diagnose")
    first = done.stdout.splitlines()[0]
    api = ".".join(map(str, amq_python.VERSION))
    assert first.split() == ["amq_python", VERSION, "(python-qpid-proton", api, "API)"]
