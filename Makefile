# Two commands for a newcomer: `make demo` and `make test`. Both bootstrap .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/wfm demo --out out

test: $(STAMP)
	$(BIN)/python -m pytest -q 2>&1 | tee .pytest-last.log; exit $${PIPESTATUS[0]}

# Benchmarks need the peer libraries of the `bench` extra (statsforecast pins pandas < 3),
# so they get their own venv and never change the one `make test` uses.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[dev,bench]"
	touch $@

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/staffing.py
	$(BENCH_VENV)/bin/python bench/forecast.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) out .pytest_cache .hypothesis
