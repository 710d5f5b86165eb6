#!/usr/bin/env bash
# Install what amq_python needs (scripts/bootstrap.sh), then run the main job,
# examples/hello_world.py, with the project's virtualenv. Arguments go to the example.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ ! -f examples/hello_world.py ]; then
  echo "demo.sh: examples/hello_world.py is missing from $ROOT: nothing to run" >&2
  exit 1
fi
bash scripts/bootstrap.sh
exec "$ROOT/.venv/bin/python" examples/hello_world.py "$@"
