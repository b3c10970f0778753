"""Table rows the grounded reader must not bleed into: a unit of measure in a column of its own,
a description wrapped onto the next line, and what stands below the last row of a page (a
carried-forward line, a footer, the next page's running header). Found by the held-out
evaluation, where such text was appended to descriptions (`... pcs Great Lakes Fastener Supply
Inc. — Invoice no. ...`); these documents are our own."""

from __future__ import annotations

from decimal import Decimal

from tests.documents.grounded_samples import NWM, demo_hints, en, qty
from tests.documents.placed_pdf import Text, placed_pdf
from tools.documents import Document, extract_invoice

D = Decimal
# PO-00001 of the demo hints: bolts at 0.25, copper wire at 1.20.
LINES = [
    ("BOLT-M8", "Steel bolt M8x40", "zinc plated, DIN 933", D(400), D("0.25")),
    ("WIRE-CU25", "Copper wire 2.5 mm²", None, D(300), D("1.20")),
]


def _pdf() -> Document:
    def header(y: float) -> list[Text]:
        return [
            Text(40, y, "Item", 8, bold=True),
            Text(130, y, "Description", 8, bold=True),
            Text(350, y, "Qty", 8, bold=True, right=True),
            Text(360, y, "Unit", 8, bold=True),
            Text(470, y, "Unit price", 8, bold=True, right=True),
            Text(550, y, "Amount", 8, bold=True, right=True),
        ]

    def row(y: float, code: str, text: str, quantity: Decimal, price: Decimal) -> list[Text]:
        return [
            Text(40, y, code),
            Text(130, y, text),
            Text(350, y, qty(quantity), right=True),
            Text(360, y, "pcs"),
            Text(470, y, en(price), right=True),
            Text(550, y, en(quantity * price), right=True),
        ]

    (c1, t1, wrapped, q1, p1), (c2, t2, _, q2, p2) = LINES
    subtotal = q1 * p1 + q2 * p2
    page1 = [
        Text(40, 50, "NORTHWIND METALS", 14, bold=True),
        Text(40, 64, "VAT DE123456704", 7),
        Text(360, 110, "INVOICE", 18, bold=True),
        Text(360, 130, "Invoice no.:"),
        Text(460, 130, "NWM-7781"),
        Text(360, 142, "Invoice date:"),
        Text(460, 142, "2026-11-20"),
        Text(360, 154, "Your order:"),
        Text(460, 154, "PO-00001"),
        *header(220),
        *row(238, c1, t1, q1, p1),
        Text(130, 250, wrapped or ""),  # the description goes on under itself
        Text(350, 760, "Carried forward"),
        Text(550, 760, en(q1 * p1), right=True),
        Text(40, 780, "Northwind Metals · thank you for your business", 7),
    ]
    page2 = [
        Text(40, 50, "Northwind Metals — invoice continued", 8),
        *header(80),
        *row(98, c2, t2, q2, p2),
        Text(350, 140, "Net total"),
        Text(550, 140, en(subtotal), right=True),
        Text(350, 154, "VAT 0 %"),
        Text(550, 154, "0.00", right=True),
        Text(350, 168, "Total due"),
        Text(550, 168, f"EUR {en(subtotal)}", right=True),
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
