"""The extraction dataset: the factur-x samples with their ground truth, and invoices generated
from a fixed seed, rendered in four text layouts (two the rules know, two only a model can
read) as plain text and as PDFs with a text layer, plus a few whose arithmetic is wrong (the
vendor's mistake: these must go to review, whatever reads them)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from evals.extraction._pdf import text_pdf
from tools.documents import Document, Invoice, InvoiceLine

FACTURX = Path(__file__).parents[1] / "datasets" / "facturx"
SEED = 20260301
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # e.g. `facturx-xml`, `text:labelled-en`, `pdf:email`
    document: Document
    truth: Invoice | None  # None: not an invoice; the right outcome is review
    consistent: bool = True  # False: the document itself is wrong, the right outcome is review


def facturx_cases() -> list[Case]:
    expected = json.loads((FACTURX / "expected.json").read_text(encoding="utf-8"))
    return [
        Case(
            name=name,
            group="facturx-pdf" if name.endswith(".pdf") else "facturx-xml",
            document=Document.from_path(FACTURX / name),
            truth=None if truth is None else Invoice.model_validate(truth),
        )
        for name, truth in sorted(expected.items())
    ]


VENDORS = [
    ("Northwind Traders Ltd", "GB123456789"),
    ("Contoso Industrial GmbH", "DE811907980"),
    ("Fabrikam Supplies SARL", "FR40303265045"),
    ("Tailspin Components BV", "NL859048392B01"),
    ("Adventure Works Inc", None),
    ("Litware Office Products", "GB987654321"),
    ("Wingtip Fasteners AG", "DE129273398"),
    ("Proseware Packaging Oy", "FI20774740"),
]
ITEMS = [
    ("BLT-M8", "Hex bolts M8 x 40"),
    ("WSH-08", "Washers zinc 8 mm"),
    ("PAL-EU", "Euro pallet 1200 x 800"),
    ("TAP-50", "Packing tape 50 mm"),
    ("GLV-L", "Work gloves size L"),
    ("CBL-3M", "Power cable 3 m"),
    ("PAP-A4", "Copy paper A4 80 g"),
    ("TNR-BK", "Toner cartridge black"),
    ("SRV-HR", "Maintenance service hour"),
    ("FLT-20", "Air filter 20 inch"),
]


def _invoice(rng: random.Random, number: int) -> Invoice:
    vendor, tax_id = rng.choice(VENDORS)
    currency = (
        "EUR"
        if tax_id and tax_id[:2] in ("DE", "FR", "NL", "FI")
        else rng.choice(["USD", "GBP", "EUR"])
    )
    lines = []
    for code, description in rng.sample(ITEMS, rng.randint(1, 4)):
        quantity = Decimal(rng.choice([1, 2, 5, 10, 12, 25, 40, 100, 250]))
        price = Decimal(rng.randint(50, 250_000)) / 100
        lines.append(
            InvoiceLine(
                description=description,
                product_code=code,
                quantity=quantity,
                unit_price=price,
                amount=(quantity * price).quantize(CENT),
            )
        )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    rate = Decimal(rng.choice([0, 7, 19, 20])) / 100
    tax = (subtotal * rate).quantize(CENT)
    issued = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randint(0, 300))
    return Invoice(
        vendor_name=vendor,
        vendor_tax_id=tax_id,
        invoice_number=f"{rng.choice(['INV', 'RE', 'F'])}-2026-{number:04d}",
        issue_date=issued,
        due_date=issued + dt.timedelta(days=rng.choice([14, 30, 45]))
        if rng.random() < 0.8
        else None,
        currency=currency,
        po_number=f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.7 else None,
        lines=lines,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )


def _en(value: Decimal) -> str:
    return f"{value:,.2f}"


def _de(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _qty(value: Decimal) -> str:
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
            f"{line.product_code:<8} {line.description:<26} {_qty(line.quantity):>6} "
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
    _en,
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
    _de,
)


def render_labelled(inv: Invoice) -> list[str]:
    return _render_labelled(inv, ENGLISH)


def render_rechnung(inv: Invoice) -> list[str]:
    return _render_labelled(inv, GERMAN)


def render_email(inv: Invoice) -> list[str]:
    """A vendor writing an e-mail: no labels the rules know."""
    out = ["Hello,", ""]
    ref = f" for your order {inv.po_number}" if inv.po_number else ""
    out.append(
        f"please find below our invoice {inv.invoice_number} of {inv.issue_date:%B %d, %Y}{ref}."
    )
    out.append("")
    for line in inv.lines:
        out.append(
            f"- {_qty(line.quantity)} x {line.description} at {_en(line.unit_price)} each: "
            f"{_en(line.amount)}"
        )
    out += ["", f"Net {_en(inv.subtotal)} {inv.currency}, tax {_en(inv.tax)} {inv.currency}."]
    out.append(f"Please pay {_en(inv.total)} {inv.currency}")
    if inv.due_date:
        out[-1] += f" by {inv.due_date:%B %d, %Y}"
    out[-1] += "."
    out += ["", "Kind regards,", inv.vendor_name]
    if inv.vendor_tax_id:
        out.append(f"VAT {inv.vendor_tax_id}")
    return out


def render_statement(inv: Invoice) -> list[str]:
    """A billing system with its own vocabulary and a pipe table."""
    out = [
        f"BILLED BY  {inv.vendor_name}" + (f"  ({inv.vendor_tax_id})" if inv.vendor_tax_id else "")
    ]
    out.append(f"Reference  {inv.invoice_number}    Issued  {inv.issue_date:%d %b %Y}")
    if inv.due_date:
        out.append(f"Settle before  {inv.due_date:%d %b %Y}")
    if inv.po_number:
        out.append(f"Customer order  {inv.po_number}")
    out.append("")
    out.append("| Article | Units | Price | Line total |")
    for line in inv.lines:
        out.append(
            f"| {line.description} | {_qty(line.quantity)} | {_en(line.unit_price)} | {_en(line.amount)} |"
        )
    out += ["", f"Before tax   {inv.currency} {_en(inv.subtotal)}"]
    out += [
        f"Tax          {inv.currency} {_en(inv.tax)}",
        f"To pay       {inv.currency} {_en(inv.total)}",
    ]
    return out


RENDERERS: dict[str, Callable[[Invoice], list[str]]] = {
    "labelled-en": render_labelled,  # a known layout
    "rechnung-de": render_rechnung,  # a known layout
    "email": render_email,  # unknown to the rules
    "statement": render_statement,  # unknown to the rules
}


def generated_cases(per_layout: int = 6, inconsistent: int = 4) -> list[Case]:
    """`per_layout` invoices in each layout (half text, half PDF) and `inconsistent` ones
    whose total does not add up, all from SEED."""
    rng = random.Random(SEED)
    cases = []
    number = 1
    for layout, render in RENDERERS.items():
        for i in range(per_layout):
            invoice = _invoice(rng, number)
            cases.append(_case(invoice, layout, render, pdf=i % 2 == 1, number=number))
            number += 1
    for i in range(inconsistent):
        invoice = _invoice(rng, number)
        wrong = invoice.model_copy(update={"total": invoice.total + Decimal(10)})
        layout = ["labelled-en", "rechnung-de"][i % 2]
        case = _case(wrong, layout, RENDERERS[layout], pdf=i % 2 == 1, number=number)
        cases.append(
            Case(case.name, f"inconsistent:{layout}", case.document, invoice, consistent=False)
        )
        number += 1
    return cases


def _case(
    invoice: Invoice, layout: str, render: Callable[[Invoice], list[str]], *, pdf: bool, number: int
) -> Case:
    lines = render(invoice)
    name = f"gen-{number:03d}-{layout}"
    if pdf:
        document = Document.from_bytes(text_pdf(lines), f"{name}.pdf")
    else:
        document = Document.from_text("\n".join(lines) + "\n", f"{name}.txt")
    return Case(name, f"{'pdf' if pdf else 'text'}:{layout}", document, invoice)


def all_cases() -> list[Case]:
    return facturx_cases() + generated_cases()
