"""Tryton ERP connector: purchase orders, suppliers, supplier invoices, payments, vendor ledger.

Build a `TrytonSettings` once, open a `TrytonClient` on it (`async with`), wrap the client in a
`TrytonERP` for typed calls, and hand `tryton_tools(erp)` to a graph for LangChain tools.
"""

from tools.tryton._client import TrytonClient, TrytonSettings
from tools.tryton._erp import InvoiceLineInput, TrytonERP
from tools.tryton._models import (
    Invoice,
    InvoiceLine,
    LedgerLine,
    Payment,
    PurchaseLine,
    PurchaseOrder,
    Supplier,
    SupplierProfile,
    VendorLedger,
)
from tools.tryton._tools import tryton_tools

__all__ = [
    "Invoice",
    "InvoiceLine",
    "InvoiceLineInput",
    "LedgerLine",
    "Payment",
    "PurchaseLine",
    "PurchaseOrder",
    "Supplier",
    "SupplierProfile",
    "TrytonClient",
    "TrytonERP",
    "TrytonSettings",
    "VendorLedger",
    "tryton_tools",
]
