# Convenience targets; the README's two commands (scripts/demo.sh, scripts/test.sh) need no make.
PY := .venv/bin/python

.PHONY: demo test bench bench-quick fuzz soak

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

$(PY):
	bash scripts/bootstrap.sh --test

bench: $(PY)
	-command -v npm >/dev/null && npm install --prefix bench --no-audit --no-fund --silent
	$(PY) bench/run.py

bench-quick: $(PY)
	$(PY) bench/run.py --quick

fuzz: $(PY)
	$(PY) fuzz/run.py --duration 600

soak: $(PY)
	$(PY) soak/run.py
