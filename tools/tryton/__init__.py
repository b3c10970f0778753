"""Tryton ERP connector: purchase orders, suppliers, supplier invoices, payments, vendor ledger.

Build a `TrytonSettings` once, open a `TrytonClient` on it (`async with`), wrap the client in a
`TrytonERP` for typed calls, and hand `tryton_tools(erp)` to a graph for LangChain tools.
"""

from tools.tryton import _models
from tools.tryton._client import TrytonClient, TrytonSettings
from tools.tryton._erp import InvoiceLineInput, TrytonERP
from tools.tryton._models import *  # noqa: F403 (its __all__)
from tools.tryton._tools import tryton_tools

# As agent_ops.storage does: the models module names its public part, the package adds its own.
__all__ = [
    *_models.__all__,
    "InvoiceLineInput",
    "TrytonClient",
    "TrytonERP",
    "TrytonSettings",
    "tryton_tools",
]
