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

from tools.documents import Document, Invoice, InvoiceLine
from tools.documents._pdf_writer import text_pdf
from tools.documents._render import en_money, quantity_text, render_labelled, render_rechnung

FACTURX = Path(__file__).parents[1] / "datasets" / "facturx"
SEED = 20260301
CENT = Decimal("0.01")

# The fields an invoice reading is scored on, one by one: the Invoice model's own, in its order,
# but for the document-level adjustments (allowances, charges, prepaid), which are not scored.
FIELDS = tuple(
    name for name in Invoice.model_fields if name not in ("allowances", "charges", "prepaid")
)


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
            f"- {quantity_text(line.quantity)} x {line.description} at {en_money(line.unit_price)} each: "
            f"{en_money(line.amount)}"
        )
    out += [
        "",
        f"Net {en_money(inv.subtotal)} {inv.currency}, tax {en_money(inv.tax)} {inv.currency}.",
    ]
    out.append(f"Please pay {en_money(inv.total)} {inv.currency}")
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
            f"| {line.description} | {quantity_text(line.quantity)} | {en_money(line.unit_price)} | {en_money(line.amount)} |"
        )
    out += ["", f"Before tax   {inv.currency} {en_money(inv.subtotal)}"]
    out += [
        f"Tax          {inv.currency} {en_money(inv.tax)}",
        f"To pay       {inv.currency} {en_money(inv.total)}",
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
