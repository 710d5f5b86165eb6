#!/usr/bin/env bash
# Set up a Debian 12 machine for amq_python, idempotently:
#   1. install the Debian packages that are missing (one apt-get update, one apt-get install);
#   2. create the virtualenv .venv in the repo;
#   3. pip install -e . into it: an editable install compiles proton_ext._cproton in place, in
#      proton_ext/, so the one copy of the code (this checkout) is what runs, whether imported
#      from the repo root, from examples/ or from anywhere else, and edits to .py files take
#      effect without reinstalling.
#
#   bash scripts/bootstrap.sh          what the demo needs
#   bash scripts/bootstrap.sh --test   also the test suite's peers and requirements-test.txt
#
# Silent on success. A second run checks and skips: it rebuilds only when the build inputs
# (setup.py, pyproject.toml, the version, proton_ext/build.py, cdef/, csrc/, requirements) changed,
# or when proton_ext no longer imports.
# On failure it names the step and prints that step's output. Needs root, or sudo, for apt-get.
# PYTHON=/path/to/python3 picks the interpreter for the virtualenv (default: python3 on PATH).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
TEST=0
case "${1-}" in
  "") ;;
  --test) TEST=1 ;;
  *) echo "usage: bash scripts/bootstrap.sh [--test]" >&2; exit 2 ;;
esac

LOG=$(mktemp "${TMPDIR:-/tmp}/amq-bootstrap.XXXXXX")
trap 'rm -f "$LOG"' EXIT

fail() {
  printf '\nbootstrap: FAILED: %s\n' "$1" >&2
  if [ -s "$LOG" ]; then
    printf -- '---- output (last 60 lines) ----\n' >&2
    tail -n 60 "$LOG" >&2
    printf -- '--------------------------------\n' >&2
  fi
  exit 1
}

# step DESCRIPTION COMMAND...: run quietly into $LOG, fail loudly.
step() {
  local what=$1
  shift
  "$@" >"$LOG" 2>&1 || fail "$what (command: $*)"
}

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# ---- 1. Debian packages -------------------------------------------------------------------
command -v dpkg-query >/dev/null || fail "this script is for Debian 12 (no dpkg-query found)"

PYTHON=${PYTHON:-$(command -v python3 || true)}
wanted=(build-essential pkg-config libqpid-proton11-dev libsasl2-dev libsasl2-modules
        libsasl2-modules-db sasl2-bin libssl-dev openssl)
if [ -z "$PYTHON" ]; then
  wanted+=(python3 python3-venv python3-dev)
elif [[ $(readlink -f "$PYTHON") == /usr/bin/* ]]; then
  wanted+=(python3-venv python3-dev)  # Debian's python: venv/ensurepip and Python.h are separate
fi
if [ "$TEST" = 1 ]; then
  wanted+=(krb5-kdc krb5-user krb5-admin-server libsasl2-modules-gssapi-mit rabbitmq-server)
  command -v node >/dev/null || wanted+=(nodejs npm)
fi

missing=()
for package in "${wanted[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || fail "need root or sudo to install: ${missing[*]}"
    SUDO=(sudo)
  fi
  step "apt-get update" "${SUDO[@]}" apt-get update
  step "apt-get install ${missing[*]}" "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y "${missing[@]}"
fi

PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null \
  || fail "$PYTHON is not a Python 3.9 or newer (set PYTHON=/path/to/python3)"

# ---- 2. the virtualenv --------------------------------------------------------------------
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
  rm -rf "$VENV"
  step "create the virtualenv $VENV with $PYTHON" "$PYTHON" -m venv "$VENV"
fi

# ---- 3. the package (and the test requirements) -------------------------------------------
# A stamp file in .venv holds a digest of each step's inputs; a step whose digest is unchanged
# (and, for the package, whose binding still imports) is skipped.
digest() {
  (cd "$ROOT" && for input in "$@"; do [ ! -e "$input" ] || find "$input" -type f; done \
    | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -d' ' -f1)
}
# Imported from / so that only the installed package can answer, not the working directory.
import_check() { (cd / && "$VENV/bin/python" -c 'import proton_ext') >"$LOG" 2>&1; }

package_digest=$(digest setup.py pyproject.toml amq_python/_version.py proton_ext/build.py \
  proton_ext/cdef proton_ext/csrc)
pip_args=()
stamps=()
if [ "$(cat "$VENV/.bootstrap-package" 2>/dev/null)" != "$package_digest" ] || ! import_check; then
  pip_args+=(-e "$ROOT")
  stamps+=(".bootstrap-package:$package_digest")
fi
if [ "$TEST" = 1 ]; then
  test_digest=$(digest requirements-test.txt)
  if [ "$(cat "$VENV/.bootstrap-test" 2>/dev/null)" != "$test_digest" ]; then
    pip_args+=(-r "$ROOT/requirements-test.txt")
    stamps+=(".bootstrap-test:$test_digest")
  fi
fi

if [ "${#pip_args[@]}" -gt 0 ]; then
  step "pip install ${pip_args[*]}" \
    "$VENV/bin/python" -m pip install --disable-pip-version-check "${pip_args[@]}"
  import_check || fail "proton_ext does not import from $VENV after pip install"
  for stamp in "${stamps[@]}"; do
    echo "${stamp#*:}" >"$VENV/${stamp%%:*}"
  done
fi
