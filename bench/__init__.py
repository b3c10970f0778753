"""Benchmark of agent-ops and `langgraph dev` through `langgraph-sdk`; run it with `python -m bench`."""
