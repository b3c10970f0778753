"""Writing an invoice as text in the label layouts the rules read (English and German).

The demo mails invoices written this way and the extraction eval measures on them, so the
writer and the reader (`_layouts.py`) are kept side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from tools.documents._invoice import Invoice


def en_money(value: Decimal) -> str:
    return f"{value:,.2f}"


def de_money(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def quantity_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class _Labels:
    tax_id: str
    title: str
    number: str
    date: str
    due: str
    po: str
    currency: str
    columns: tuple[str, str, str, str, str]
    sums: tuple[str, str, str]
    date_format: str
    money: Callable[[Decimal], str]


def _render_labelled(inv: Invoice, labels: _Labels) -> list[str]:
    out = [inv.vendor_name]
    if inv.vendor_tax_id:
        out.append(f"{labels.tax_id}: {inv.vendor_tax_id}")
    out += ["", labels.title, "", f"{labels.number}: {inv.invoice_number}"]
    out.append(f"{labels.date}: {inv.issue_date.strftime(labels.date_format)}")
    if inv.due_date:
        out.append(f"{labels.due}: {inv.due_date.strftime(labels.date_format)}")
    if inv.po_number:
        out.append(f"{labels.po}: {inv.po_number}")
    out += [f"{labels.currency}: {inv.currency}", ""]
    code, description, qty, price, amount = labels.columns
    out.append(f"{code:<8} {description:<26} {qty:>6} {price:>12} {amount:>12}")
    money = labels.money
    for line in inv.lines:
        out.append(
            f"{line.product_code:<8} {line.description:<26} {quantity_text(line.quantity):>6} "
            f"{money(line.unit_price):>12} {money(line.amount):>12}"
        )
    out.append("")
    out += [
        f"{label}: {money(v)}"
        for label, v in zip(labels.sums, (inv.subtotal, inv.tax, inv.total), strict=True)
    ]
    return out


ENGLISH = _Labels(
    "VAT ID",
    "INVOICE",
    "Invoice No",
    "Date",
    "Due Date",
    "PO Number",
    "Currency",
    ("Item", "Description", "Qty", "Unit Price", "Amount"),
    ("Subtotal", "Tax", "Total"),
    "%m/%d/%Y",
    en_money,
)
GERMAN = _Labels(
    "USt-IdNr.",
    "RECHNUNG",
    "Rechnungsnummer",
    "Rechnungsdatum",
    "Zahlbar bis",
    "Ihre Bestellung",
    "Währung",
    ("Art.-Nr.", "Bezeichnung", "Menge", "Einzelpreis", "Betrag"),
    ("Nettobetrag", "MwSt.", "Gesamtbetrag"),
    "%d.%m.%Y",
    de_money,
)


def render_labelled(inv: Invoice) -> list[str]:
    return _render_labelled(inv, ENGLISH)


def render_rechnung(inv: Invoice) -> list[str]:
    return _render_labelled(inv, GERMAN)
