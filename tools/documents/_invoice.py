"""The invoice as read from a vendor's document, before anything is checked against the ERP.

Every extractor (UBL, CII, a known text layout, a model) produces an `Extraction`: the `Invoice`
it read, how it read it, a confidence per field and the problems it found. Amounts are Decimal,
dates are date; nothing here knows about Tryton.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["ubl", "cii", "layout", "grounded", "model", "human", "api", "none"]
"""How an invoice was read; `grounded`: the document's words located against what the ERP
expects (`_grounded.py`); `api`: given whole in the run's input; `none`: nothing could read it
(the invoice is then None)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceLine(_Strict):
    description: str = Field(description="what was delivered, as the vendor wrote it")
    product_code: str | None = Field(default=None, description="the vendor's or buyer's item code")
    quantity: Decimal = Field(description="invoiced quantity")
    unit_price: Decimal = Field(description="net price per unit, tax excluded")
    amount: Decimal = Field(
        description="net line amount, tax excluded: quantity * unit_price - allowances + charges"
    )
    allowances: Decimal = Field(
        default=Decimal(0), description="line-level discounts (EN 16931 BG-27)"
    )
    charges: Decimal = Field(default=Decimal(0), description="line-level charges (EN 16931 BG-28)")


class Invoice(_Strict):
    vendor_name: str = Field(description="the seller's legal or trading name")
    vendor_tax_id: str | None = Field(default=None, description="the seller's VAT or tax id")
    invoice_number: str = Field(description="the seller's invoice number")
    issue_date: dt.date
    due_date: dt.date | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    po_number: str | None = Field(default=None, description="the buyer's purchase order reference")
    lines: list[InvoiceLine] = Field(default_factory=list)
    subtotal: Decimal = Field(description="sum of net line amounts")
    allowances: Decimal = Field(
        default=Decimal(0), description="document-level discounts, tax excluded (EN 16931 BT-107)"
    )
    charges: Decimal = Field(
        default=Decimal(0), description="document-level charges, tax excluded (EN 16931 BT-108)"
    )
    tax: Decimal = Field(description="total tax amount")
    total: Decimal = Field(
        description="invoice total, tax included: subtotal - allowances + charges + tax"
    )
    prepaid: Decimal = Field(
        default=Decimal(0), description="already paid, e.g. a deposit (EN 16931 BT-113)"
    )

    @property
    def amount_due(self) -> Decimal:
        """What remains to pay: the total less what was prepaid (EN 16931 BT-115)."""
        return self.total - self.prepaid


def priced_invoice(
    vendor: str,
    number: str,
    issued: dt.date,
    po: str | None,
    lines: Sequence[tuple[str, str, str, str]],
    *,
    tax_rate: str = "0",
    due: dt.date | None = None,
    vendor_tax_id: str | None = None,
    currency: str = "EUR",
) -> Invoice:
    """Return an invoice priced as a vendor's system prices it, for writing sample documents:
    each line (product code, description, quantity, unit price) amounted to the cent, their
    subtotal, the tax at `tax_rate` (a fraction, "0.20") and the total."""
    cent = Decimal("0.01")
    items = [
        InvoiceLine(
            description=text,
            product_code=code,
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            amount=(Decimal(quantity) * Decimal(price)).quantize(cent),
        )
        for code, text, quantity, price in lines
    ]
    subtotal = sum((item.amount for item in items), Decimal(0))
    tax = (subtotal * Decimal(tax_rate)).quantize(cent)
    return Invoice(
        vendor_name=vendor,
        vendor_tax_id=vendor_tax_id,
        invoice_number=number,
        issue_date=issued,
        due_date=due,
        currency=currency,
        po_number=po,
        lines=items,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )


class Evidence(_Strict):
    """Where a value was read and why it is believed: what a reviewer checks it against."""

    page: int | None = Field(default=None, description="1-based; None: not from the document")
    box: tuple[float, float, float, float] | None = Field(
        default=None,
        description="left, top, right, bottom: PDF points from the page's top left, or for a "
        "text character columns and line numbers",
    )
    text: str = Field(description="the text the value was read from")
    how: str = Field(description="how it was found, e.g. `label 'Rechnungsnummer' (de)`")
    confidence: float = Field(ge=0, le=1)


class Extraction(_Strict):
    """One extractor's reading of one document."""

    invoice: Invoice | None = Field(description="None when nothing usable could be read")
    method: Method
    source: str = Field(
        description="which parser, layout or model, e.g. `ubl-2.1`, `local:smollm2`"
    )
    confidence: dict[str, float] = Field(
        default_factory=dict, description="per Invoice field, 0..1; absent means not read"
    )
    problems: list[str] = Field(
        default_factory=list, description="validation failures, each naming the field"
    )
    review: bool = Field(
        default=False,
        description="a person must check it: nothing read, a problem, or a required field's "
        "confidence under the bar extract_invoice was given (see needs_review)",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="what was tried before this reading and why it was not used",
    )
    evidence: dict[str, Evidence] = Field(
        default_factory=dict,
        description="per field (`lines[1]` for a line) where it was read; grounded readings",
    )
