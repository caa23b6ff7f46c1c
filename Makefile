# Benchmarks (docs/benchmarks.md): each script builds its own data in a scratch PostgreSQL
# database and drops it. `make bench` is the quick set (under 10 minutes on 2 cores);
# `make bench-full` the scale the figures in docs/benchmarks.md were measured at.
PYTHON ?= .venv/bin/python

.PHONY: bench bench-full

bench:
	$(PYTHON) bench/run_all.py

bench-full:
	$(PYTHON) bench/run_all.py --full
