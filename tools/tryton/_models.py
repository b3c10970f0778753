"""What the Tryton tools return: purchase orders, suppliers, invoices, payments, ledger lines.

Amounts are Decimal and dates are date here; the LangChain tools hand them on as JSON strings.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

# The package re-exports exactly these (`tools.tryton.__all__` is their union with its own).
__all__ = [
    "Invoice",
    "InvoiceLine",
    "LedgerLine",
    "Payment",
    "PurchaseLine",
    "PurchaseOrder",
    "Supplier",
    "SupplierProfile",
    "VendorLedger",
]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class Supplier(_Result):
    id: int
    name: str
    code: str | None
    tax_identifier: str | None
    payment_term: str | None


class PurchaseLine(_Result):
    id: int
    purchase_id: int
    product_code: str | None
    description: str
    unit: str | None
    quantity: float
    unit_price: Decimal
    amount: Decimal
    # The sum of its taxes' rates (0.20 for one 20 % VAT, 0 without tax); None when one of its
    # taxes is not a plain percentage (a fixed amount, child taxes, or compounding).
    tax_rate: Decimal | None
    received_quantity: float  # done incoming stock moves, in the line's unit
    # On supplier invoices that are not cancelled, except Tryton's own drafts still waiting for
    # the vendor's invoice (see `drafted_quantity`): posted, validated or paid ones, and drafts
    # that carry a vendor's invoice number or agent-ops' idempotency key.
    invoiced_quantity: float
    # On drafts Tryton made for the order (invoice method `order` or `fulfillment`) that no
    # vendor invoice has been fitted to yet: what the next invoice for this line is fitted to.
    drafted_quantity: float = 0.0


class PurchaseOrder(_Result):
    id: int
    number: str | None
    reference: str | None  # the supplier's quotation or order reference
    supplier_id: int
    supplier: str
    purchase_date: dt.date | None
    state: str
    invoice_state: str
    shipment_state: str
    currency: str
    untaxed_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    lines: list[PurchaseLine]
    # Tryton's: `order` (its default: a draft supplier invoice as the order is confirmed),
    # `fulfillment` (drafts for what is received; `shipment` before Tryton 7.8) or `manual`.
    invoice_method: str = "order"


class InvoiceLine(_Result):
    id: int
    purchase_line_id: int | None
    description: str | None
    quantity: float
    unit_price: Decimal
    amount: Decimal


class Invoice(_Result):
    id: int
    number: str | None
    reference: str | None  # the supplier's invoice number
    supplier_id: int
    supplier: str
    invoice_date: dt.date | None
    state: Literal["draft", "validated", "posted", "paid", "cancelled"]
    currency: str
    untaxed_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    amount_to_pay: Decimal
    idempotency_key: str | None
    lines: list[InvoiceLine]
    created: bool = False  # True only on the call that made it
    # On the call that booked it onto Tryton's own drafts for the order: their ids (the first is
    # this invoice when a draft was fitted in place).
    fitted: tuple[int, ...] = ()


class Payment(_Result):
    id: int
    number: str | None
    state: str
    supplier_id: int
    amount: Decimal
    date: dt.date
    journal: str
    invoice_id: int | None
    move_line_id: int | None
    idempotency_key: str | None
    created: bool = False


class LedgerLine(_Result):
    id: int
    date: dt.date
    maturity_date: dt.date | None
    move: str | None
    description: str | None
    origin: str | None  # e.g. "account.invoice,12"
    debit: Decimal
    credit: Decimal
    balance: Decimal  # credit - debit: what the company owes on this line
    reconciled: bool
    amount_to_pay: Decimal | None  # still owed once payments under way are counted


class VendorLedger(_Result):
    supplier_id: int
    supplier: str
    lines: list[LedgerLine]
    total_balance: Decimal  # of the lines returned


class SupplierProfile(_Result):
    """What identifies a supplier on its documents: tax ids, e-mail addresses, bank accounts."""

    id: int
    name: str
    code: str | None
    tax_identifiers: list[str]
    emails: list[str]
    bank_accounts: list[str]  # empty unless Tryton's `bank` module is activated
    country: str | None  # of its first address with a country (ISO 3166 code)
