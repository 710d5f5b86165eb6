#!/usr/bin/env bash
# Install everything the test suite needs (scripts/bootstrap.sh --test), then run every check:
# ruff, mypy and lint-imports (the import layering; all three configured in pyproject.toml), the
# docs build (Sphinx, warnings as errors and nitpicky cross-references, into a temporary
# directory) and pytest (per-test timeout from pyproject.toml).
# Each check runs even when an earlier one failed; the exit status is non-zero if any failed,
# including a pytest run that collected no tests (pytest's exit code 5).
# Extra arguments go to pytest, e.g. bash scripts/test.sh tests/test_binding.py -x
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
bash scripts/bootstrap.sh --test || exit 1
BIN=$ROOT/.venv/bin

failed=()
run() {
  local name=$1
  shift
  echo "==> $name"
  "$@"
  local status=$?
  if [ "$name" = pytest ] && [ "$status" = 5 ]; then
    echo "pytest collected no tests: that counts as a failure" >&2
  fi
  [ "$status" = 0 ] || failed+=("$name (exit $status)")
}

run ruff "$BIN/ruff" check .
run mypy "$BIN/mypy"
run lint-imports "$BIN/lint-imports" --no-cache
DOCS_OUT=$(mktemp -d)
run docs "$BIN/sphinx-build" -W -n --keep-going -q -b html docs "$DOCS_OUT"
rm -rf "$DOCS_OUT"
# -p timeout: an error if pytest-timeout is missing, rather than a run without timeouts.
run pytest "$BIN/pytest" -q -p timeout "$@"

if [ "${#failed[@]}" -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: ruff, mypy, lint-imports, docs and pytest all passed"
