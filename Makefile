# Convenience targets; the README's two commands (scripts/demo.sh, scripts/test.sh) need no make.
PY := .venv/bin/python

.PHONY: demo test test-cluster tox bench bench-quick fuzz soak soak-cluster

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

# Only the 3-node RabbitMQ cluster tests (tests/test_rabbitmq_cluster.py; make test runs them too).
test-cluster: $(PY)
	$(PY) -m pytest -q -p timeout -m cluster

# The core subset on CPython 3.9 to 3.13 (tox.ini's versions label); pyenv's shims answer only for
# selected versions, so select every installed 3.9-3.13. Missing interpreters are skipped.
tox: $(PY)
	PYENV_VERSION="$$(pyenv versions --bare 2>/dev/null \
		| grep -E '^3\.(9|1[0-3])\.[0-9]+$$' | paste -sd: -)" $(PY) -m tox -m versions

$(PY):
	bash scripts/bootstrap.sh --test

# make bench also runs amq_python as of BENCH_BASELINE (the commit before the engine/driver
# redesign, issue 14) beside the current tree; BENCH_BASELINE= leaves it out.
BENCH_BASELINE ?= 44a3f21
bench: $(PY)
	-command -v npm >/dev/null && npm install --prefix bench --no-audit --no-fund --silent
	$(PY) bench/run.py $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE))

bench-quick: $(PY)
	$(PY) bench/run.py --quick

fuzz: $(PY)
	$(PY) fuzz/run.py --duration 600

soak: $(PY)
	$(PY) soak/run.py

# 1,000,000 messages through a 3-node RabbitMQ cluster, a node killed every 30 s.
soak-cluster: $(PY)
	$(PY) soak/cluster.py
