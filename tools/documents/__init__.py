"""Documents: vendor invoices read from UBL 2.1, CII (Factur-X, ZUGFeRD), PDF text and plain text.

extraction = await extract_invoice(Document.from_path(Path("INV-1042.pdf")))
if needs_review(extraction): ...  # problems or low confidence: a person decides

Give `hints=Hints(...)` (known suppliers, their open orders, the sender) and an invoice in a
layout no rule knows is read from its words against them, each value with its evidence.
"""

from __future__ import annotations

from tools.documents._document import Document, guess_media_type
from tools.documents._extract import extract_invoice
from tools.documents._hints import Hints, OrderHint, OrderLineHint, SupplierHint
from tools.documents._instructions import instructions_in, instructions_problem
from tools.documents._invoice import (
    Evidence,
    Extraction,
    Invoice,
    InvoiceLine,
    Method,
    priced_invoice,
)
from tools.documents._layouts import LAYOUTS, Layout, Refused, register_layout
from tools.documents._model import ModelInvoice
from tools.documents._pdf_writer import text_pdf
from tools.documents._render import render_labelled, render_rechnung
from tools.documents._ubl_writer import to_ubl
from tools.documents._validation import (
    BASE_CONFIDENCE,
    DEFAULT_MIN_CONFIDENCE,
    Checks,
    SumGap,
    needs_review,
    sum_gaps,
    validate,
)

__all__ = [
    "BASE_CONFIDENCE",
    "DEFAULT_MIN_CONFIDENCE",
    "LAYOUTS",
    "Checks",
    "Document",
    "Evidence",
    "Extraction",
    "Hints",
    "Invoice",
    "InvoiceLine",
    "Layout",
    "Method",
    "ModelInvoice",
    "OrderHint",
    "OrderLineHint",
    "Refused",
    "SumGap",
    "SupplierHint",
    "extract_invoice",
    "guess_media_type",
    "instructions_in",
    "instructions_problem",
    "needs_review",
    "priced_invoice",
    "register_layout",
    "render_labelled",
    "render_rechnung",
    "sum_gaps",
    "text_pdf",
    "to_ubl",
    "validate",
]
