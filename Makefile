# One entry point for people and CI: run, test, lint, bench.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck bench bench-memory install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

install-test: $(TSTAMP)

## run: install and start the server on the embedded default (SQLite, shipped graphs)
run: $(STAMP)
	$(BIN)/agent-ops serve

## test: install test dependencies and run the whole suite
test: $(TSTAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff (lint + format check) and mypy
lint: $(TSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: server vs in-process floor, SQLite and PostgreSQL, and `langgraph dev` for comparison
bench: $(TSTAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## bench-memory: server RSS before and after 10,000 interrupted threads, SQLite and PostgreSQL
bench-memory: $(TSTAMP)
	$(BIN)/python -m bench --memory $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache agent-ops.db agent-ops.db-*
