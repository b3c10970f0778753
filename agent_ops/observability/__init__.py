"""Observability: `logs` (text or one JSON object per line, carrying run, thread, assistant and
worker ids) and `metrics` (this process's Prometheus registry; queue gauges read from the store
at scrape time). Imports nothing else of agent-ops, so every layer may use it."""
