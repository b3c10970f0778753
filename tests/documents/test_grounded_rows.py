"""Table rows the grounded reader must not bleed into: a unit of measure in a column of its own,
a description wrapped onto the next line, and what stands below the last row of a page (a
carried-forward line, a footer, the next page's running header). Found by the held-out
evaluation, where such text was appended to descriptions (`... pcs Great Lakes Fastener Supply
Inc. — Invoice no. ...`); these documents are our own."""

from __future__ import annotations

from decimal import Decimal

from tests.documents.grounded_samples import NWM, demo_hints, en, qty
from tests.documents.placed_pdf import Column, Text, heading, placed_pdf, row, rows
from tools.documents import Document, extract_invoice

D = Decimal
# PO-00001 of the demo hints: bolts at 0.25, copper wire at 1.20.
LINES = [
    ("BOLT-M8", "Steel bolt M8x40", "zinc plated, DIN 933", D(400), D("0.25")),
    ("WIRE-CU25", "Copper wire 2.5 mm²", None, D(300), D("1.20")),
]


COLUMNS = [Column(40, "Item"), Column(130, "Description"), Column(350, "Qty", right=True)]
COLUMNS += [Column(360, "Unit"), Column(470, "Unit price", right=True)]
COLUMNS += [Column(550, "Amount", right=True)]
TOTALS = [Column(350), Column(550, right=True)]


def _pdf() -> Document:
    def cells(code: str, text: str, quantity: Decimal, price: Decimal) -> list[str]:
        return [code, text, qty(quantity), "pcs", en(price), en(quantity * price)]

    (c1, t1, wrapped, q1, p1), (c2, t2, _, q2, p2) = LINES
    subtotal = q1 * p1 + q2 * p2
    meta = [("Invoice no.:", "NWM-7781"), ("Invoice date:", "2026-11-20")]
    meta += [("Your order:", "PO-00001")]
    page1 = [
        Text(40, 50, "NORTHWIND METALS", 14, bold=True),
        Text(40, 64, "VAT DE123456704", 7),
        Text(360, 110, "INVOICE", 18, bold=True),
        *rows(130, [Column(360), Column(460)], meta, step=12),
        *heading(220, COLUMNS, size=8),
        *row(238, COLUMNS, cells(c1, t1, q1, p1)),
        Text(130, 250, wrapped or ""),  # the description goes on under itself
        *row(760, TOTALS, ["Carried forward", en(q1 * p1)]),
        Text(40, 780, "Northwind Metals · thank you for your business", 7),
    ]
    totals = [("Net total", en(subtotal)), ("VAT 0 %", "0.00")]
    totals += [("Total due", f"EUR {en(subtotal)}")]
    page2 = [
        Text(40, 50, "Northwind Metals — invoice continued", 8),
        *heading(80, COLUMNS, size=8),
        *row(98, COLUMNS, cells(c2, t2, q2, p2)),
        *rows(140, TOTALS, totals, step=14),
    ]
    return Document.from_bytes(placed_pdf([page1, page2]), "nwm-units.pdf")


async def test_units_wrapped_descriptions_and_page_breaks_stay_out_of_descriptions() -> None:
    extraction = await extract_invoice(_pdf(), hints=demo_hints(NWM.emails[0]), use_model=False)

    assert extraction.method == "grounded", extraction.problems
    assert extraction.invoice is not None
    assert [(line.product_code, line.description) for line in extraction.invoice.lines] == [
        ("BOLT-M8", "Steel bolt M8x40 zinc plated, DIN 933"),
        ("WIRE-CU25", "Copper wire 2.5 mm²"),
    ]
    assert [line.quantity for line in extraction.invoice.lines] == [D(400), D(300)]
    assert not extraction.review, extraction.problems


def test_a_tax_label_may_carry_its_rate_and_a_plus_word_before_the_tax_name() -> None:
    from tools.documents._labels import label_at

    for text in ("zzgl. 20 % USt.: 82,76 €", "plus 20% VAT: 12.00", "inkl. 7 % MwSt. 3,50"):
        hit = label_at(text)
        assert hit is not None and hit.field == "tax", text
    assert label_at("20 % Rabatt: 4,00 €") is None
