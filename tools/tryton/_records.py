"""How Tryton's records are read (the field lists) and how they become the connector's models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tools.tryton._models import (
    Invoice,
    InvoiceLine,
    LedgerLine,
    Payment,
    PurchaseLine,
    PurchaseOrder,
    Supplier,
)

KEY_MARK = "agent-ops idempotency key: "
ZERO = Decimal(0)

SUPPLIER_FIELDS = ("name", "code", "tax_identifier.code", "supplier_payment_term.name")
LINE_FIELDS = (
    "purchase",
    "type",
    "product.code",
    "product.name",
    "description",
    "unit.symbol",
    "unit.factor",
    "quantity",
    "unit_price",
    "amount",
    "taxes.type",
    "taxes.rate",
    "taxes.childs",
    "taxes.update_unit_price",
    "moves.state",
    "moves.quantity",
    "moves.unit.factor",
    "invoice_lines.quantity",
    "invoice_lines.invoice.state",
    "invoice_lines.invoice.reference",
    "invoice_lines.invoice.comment",
)
PURCHASE_FIELDS = (
    "number",
    "reference",
    "party.name",
    "purchase_date",
    "state",
    "invoice_method",
    "invoice_state",
    "shipment_state",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
)
INVOICE_FIELDS = (
    "number",
    "reference",
    "party.name",
    "invoice_date",
    "state",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
    "amount_to_pay",
    "comment",
    "lines.origin",
    "lines.description",
    "lines.quantity",
    "lines.unit_price",
    "lines.amount",
)
PAYMENT_FIELDS = (
    "number",
    "state",
    "party",
    "amount",
    "date",
    "journal.name",
    "line.id",
    "line.move_origin",
    "reference",
)
LEDGER_FIELDS = (
    "date",
    "maturity_date",
    "move.number",
    "description",
    "move_origin",
    "debit",
    "credit",
    "reconciliation",
    "payment_amount",
)


def key_of(comment: str | None) -> str | None:
    for line in reversed((comment or "").splitlines()):
        if line.startswith(KEY_MARK):
            return line[len(KEY_MARK) :].strip()
    return None


def like_escape(text: str) -> str:
    """Escape Tryton's `like` wildcards (its escape character is the backslash)."""
    for char in ("\\", "%", "_"):
        text = text.replace(char, "\\" + char)
    return text


def waiting(invoice: dict[str, Any]) -> bool:
    """Whether an invoice is a draft Tryton made for a purchase that waits for the vendor's
    invoice: no vendor invoice number and no idempotency key of ours on it yet."""
    return (
        invoice.get("state") == "draft"
        and not (invoice.get("reference") or "").strip()
        and key_of(invoice.get("comment")) is None
    )


def _name(value: Any) -> Any:
    """The `name` of a related record read with dotted fields, or None."""
    return value.get("name") if isinstance(value, dict) else None


def supplier(row: dict[str, Any]) -> Supplier:
    tax = row.get("tax_identifier")
    return Supplier(
        id=row["id"],
        name=row["name"],
        code=row.get("code"),
        tax_identifier=tax.get("code") if isinstance(tax, dict) else None,
        payment_term=_name(row.get("supplier_payment_term")),
    )


def _tax_rate(taxes: list[dict[str, Any]]) -> Decimal | None:
    """The summed rate of plain percentage taxes; None when Tryton computes more than that."""
    rate = ZERO
    for tax in taxes:
        if tax.get("childs") or tax.get("update_unit_price") or tax["type"] == "fixed":
            return None
        if tax["type"] == "percentage":
            rate += tax["rate"]
    return rate


def purchase_line(row: dict[str, Any]) -> PurchaseLine:
    unit = row.get("unit") or {}
    factor = unit.get("factor") or 1.0
    received = 0.0
    for move in row.get("moves") or []:
        if move["state"] == "done":
            move_factor = (move.get("unit") or {}).get("factor") or factor
            received += move["quantity"] * move_factor / factor
    invoiced = drafted = 0.0
    for line in row.get("invoice_lines") or []:
        invoice = line.get("invoice") or {}
        if waiting(invoice):
            drafted += line["quantity"]
        elif invoice.get("state") != "cancelled":
            invoiced += line["quantity"]
    product = row.get("product") or {}
    return PurchaseLine(
        id=row["id"],
        purchase_id=row["purchase"],
        product_code=product.get("code"),
        description=row.get("description") or product.get("name") or "",
        unit=unit.get("symbol"),
        quantity=row["quantity"],
        unit_price=row["unit_price"],
        amount=row["amount"],
        tax_rate=_tax_rate(row.get("taxes") or []),
        received_quantity=round(received, 6),
        invoiced_quantity=invoiced,
        drafted_quantity=drafted,
    )


def _origin_id(reference: str | None, model: str) -> int | None:
    """The id in a Tryton reference value (`model,id`) when it points at `model`."""
    name, _, record_id = (reference or "").partition(",")
    return int(record_id) if name == model and record_id else None


def _document(row: dict[str, Any]) -> dict[str, Any]:
    """The fields a purchase order and an invoice share, read with the same field names."""
    return {
        "id": row["id"],
        "number": row.get("number"),
        "reference": row.get("reference"),
        "supplier_id": row["party"]["id"],
        "supplier": row["party"]["name"],
        "state": row["state"],
        "currency": row["currency"]["code"],
        "untaxed_amount": row["untaxed_amount"],
        "tax_amount": row["tax_amount"],
        "total_amount": row["total_amount"],
    }


def purchase(row: dict[str, Any], lines: list[PurchaseLine]) -> PurchaseOrder:
    return PurchaseOrder(
        **_document(row),
        purchase_date=row.get("purchase_date"),
        invoice_method=row["invoice_method"],
        invoice_state=row["invoice_state"],
        shipment_state=row["shipment_state"],
        lines=lines,
    )


def invoice(row: dict[str, Any]) -> Invoice:
    lines = [
        InvoiceLine(
            id=line["id"],
            purchase_line_id=_origin_id(line.get("origin"), "purchase.line"),
            description=line.get("description"),
            quantity=line["quantity"],
            unit_price=line["unit_price"],
            amount=line["amount"],
        )
        for line in row.get("lines") or []
    ]
    return Invoice(
        **_document(row),
        invoice_date=row.get("invoice_date"),
        amount_to_pay=row.get("amount_to_pay") or ZERO,
        idempotency_key=key_of(row.get("comment")),
        lines=lines,
    )


def payment(row: dict[str, Any]) -> Payment:
    line = row.get("line") or {}
    return Payment(
        id=row["id"],
        number=row.get("number"),
        state=row["state"],
        supplier_id=row["party"],
        amount=row["amount"],
        date=row["date"],
        journal=row["journal"]["name"],
        invoice_id=_origin_id(line.get("move_origin"), "account.invoice"),
        move_line_id=line.get("id"),
        idempotency_key=row.get("reference"),
    )


def ledger_line(row: dict[str, Any]) -> LedgerLine:
    return LedgerLine(
        id=row["id"],
        date=row["date"],
        maturity_date=row.get("maturity_date"),
        move=(row.get("move") or {}).get("number"),
        description=row.get("description"),
        origin=row.get("move_origin"),
        debit=row["debit"],
        credit=row["credit"],
        balance=row["credit"] - row["debit"],
        reconciled=row.get("reconciliation") is not None,
        amount_to_pay=row.get("payment_amount"),
    )
