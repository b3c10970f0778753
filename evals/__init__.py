"""Offline evaluation: `harness` (datasets, suites run through the real runtime, scorers, the
replay cache, compare and report; `agent-ops eval ...` via `cli`), `suites` (the shipped suites
and their data), and the one-off evaluations `extraction` and `invoices` (`python -m evals`).

Evals import the public surfaces of `agent_ops`, `graphs` and `tools`; nothing imports evals
except the CLI, which wires the `eval` command.
"""
