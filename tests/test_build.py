"""The build's library detection: ``find_libraries()`` in ``proton_ext/build.py``.

``build.py`` builds its FFI when imported, so each check runs in a fresh interpreter that loads
it by path and reports, as JSON on stdout, either the MissingLibraryError message or what
``find_libraries()`` found. pkg-config is steered with ``PKG_CONFIG_LIBDIR`` and
``PKG_CONFIG_PATH``: pointed at a directory of our own, it sees only the .pc files put there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

BUILD_PY = Path(__file__).resolve().parents[1] / "proton_ext" / "build.py"

PROBE = """
import dataclasses, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("proton_ext_build", sys.argv[1])
build = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = build
try:
    spec.loader.exec_module(build)  # runs make_ffibuilder(), hence find_libraries()
except build.MissingLibraryError as error:
    print(json.dumps({"missing": str(error)}))
else:
    print(json.dumps({"found": dataclasses.asdict(build.find_libraries())}))
"""


def probe(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(BUILD_PY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def pkg_config_only(directory: Path) -> dict[str, str]:
    return {**os.environ, "PKG_CONFIG_LIBDIR": str(directory), "PKG_CONFIG_PATH": str(directory)}


def system_pc_file(package: str) -> Path:
    found = subprocess.run(
        ["pkg-config", "--variable=pcfiledir", package], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(found) / f"{package}.pc"


def test_no_libraries_names_debian_and_rhel_packages(tmp_path: Path) -> None:
    report = probe(pkg_config_only(tmp_path))
    assert "found" not in report
    message = report["missing"]
    for package in ("libqpid-proton11-dev", "libsasl2-dev", "pkg-config"):
        assert package in message  # Debian
    for package in ("qpid-proton-c-devel", "cyrus-sasl-devel"):
        assert package in message  # RHEL
    assert "Qpid Proton" in message
    assert "Cyrus SASL" in message


def test_missing_sasl_alone_is_named_alone(tmp_path: Path) -> None:
    shutil.copy(system_pc_file("libqpid-proton"), tmp_path)
    message = probe(pkg_config_only(tmp_path))["missing"]
    assert "Cyrus SASL (libsasl2)" in message
    assert "Qpid Proton" not in message.splitlines()[0]


def test_real_environment_finds_both_libraries() -> None:
    found = probe(dict(os.environ))["found"]
    assert found["libraries"] == ["sasl2"]
    assert len(found["extra_link_args"]) == 1
    assert "qpid-proton-core" in found["extra_link_args"][0]  # the engine, by name or file
