# One entry point for people and CI: run, test, lint, bench.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck bench tryton-demo install install-test clean

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

## tryton-demo: seed the demo Tryton once into .tryton-demo/, then serve it on TRYTON_PORT
TRYTON_DEMO ?= .tryton-demo
TRYTON_PORT ?= 8124
tryton-demo: $(STAMP)
	test -f $(TRYTON_DEMO)/demo.json || $(BIN)/python -m tools.tryton_demo build $(TRYTON_DEMO)
	$(BIN)/python -m tools.tryton_demo serve $(TRYTON_DEMO) --port $(TRYTON_PORT)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache agent-ops.db agent-ops.db-* .tryton-demo
