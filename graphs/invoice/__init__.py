"""invoice_approval: a vendor invoice from e-mail, a folder or the API, checked and paid in Tryton.

receive -> extract -> check against the purchase order (two- and three-way, tolerance,
duplicates) -> a person reviews anything found (agent-inbox format) -> book, post and pay
in Tryton -> read the vendor ledger -> tell the sender. See `graph.py` and README.

Its systems come per run from the runtime's deps (`agent_ops.deps`): `tools.config.Connectors`
from the connectors config, or `Connections` of your own (`Deps(connectors=Connections(...))`).
"""

from __future__ import annotations

from graphs.invoice._env import Connections, Notifier, connections
from graphs.invoice._match import Finding, LineMatch, MatchReport, assess
from graphs.invoice._policy import Policy
from graphs.invoice._state import InvoiceState
from graphs.invoice.graph import build, graph

__all__ = [
    "Connections",
    "Finding",
    "InvoiceState",
    "LineMatch",
    "MatchReport",
    "Notifier",
    "Policy",
    "assess",
    "build",
    "connections",
    "graph",
]
