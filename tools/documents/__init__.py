"""Documents: vendor invoices read from UBL 2.1, CII (Factur-X, ZUGFeRD), PDF text and plain text."""

from __future__ import annotations

from tools.documents._invoice import Extraction, Invoice, InvoiceLine, Method

__all__ = ["Extraction", "Invoice", "InvoiceLine", "Method"]
