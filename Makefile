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

# Benchmarks need the peer libraries of the `bench` extra; not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/staffing.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
