"""The `invoice_approval` graph of langgraph.json (built in graphs/invoice)."""

from graphs.invoice import graph

__all__ = ["graph"]
