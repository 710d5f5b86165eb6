#!/usr/bin/env bash
# Install what amq_python needs (scripts/bootstrap.sh), then run the main job: start the
# embedded broker on a free loopback port, run examples/hello_world.py through it (send, then
# receive, "Hello World!"), and stop the broker. Arguments go to the example.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
PY=$ROOT/.venv/bin/python

LOG=$(mktemp "${TMPDIR:-/tmp}/amq-demo-broker.XXXXXX")
"$PY" -m amq_python.broker --host 127.0.0.1 --port 0 >"$LOG" 2>&1 &
BROKER=$!
trap 'kill "$BROKER" 2>/dev/null; wait "$BROKER" 2>/dev/null; rm -f "$LOG"' EXIT

for _ in $(seq 100); do
  grep -q '^listening on ' "$LOG" && break
  kill -0 "$BROKER" 2>/dev/null || { cat "$LOG" >&2; echo "demo.sh: the broker did not start" >&2; exit 1; }
  sleep 0.1
done
ADDRESS=$(sed -n 's/^listening on //p' "$LOG" | head -n 1)
[ -n "$ADDRESS" ] || { cat "$LOG" >&2; echo "demo.sh: the broker did not start in 10 s" >&2; exit 1; }
echo "embedded broker listening on $ADDRESS"
"$PY" examples/hello_world.py --url "amqp://$ADDRESS" "$@"
