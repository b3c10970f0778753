"""The grounded reader on noisy and unfamiliar writing: a typewriter scan (labels broken by
stray spaces, look-alike digits in words, a cut header), fields stated in sentences, pipe
tables, `qty x price = amount` items, a quantity sharing its description's cell, dates whose
day and month order only the document's other dates or its payment terms tell, and a due date
that is labelled but unreadable. Each clean document is read exactly; each unsure one goes to a
person, never paid on a guess. All documents are hand-written here (texts) or placed word by
word (`placed_pdf`), not made by the reader's own writers.

The vendor is the demo's Northwind Metals; its PO-00005 orders HSS drill bit sets at 24.00 and
cutting discs at 1.80.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.documents.grounded_samples import demo_hints
from tests.documents.placed_pdf import Column, Text, heading, placed_pdf, row, rows
from tools.documents import Document, Extraction, extract_invoice
from tools.documents._table import table_headers
from tools.documents._words import text_words

D = Decimal
SENDER = "Northwind Metals Billing <billing@northwind-metals.example>"


async def _read(document: Document) -> Extraction:
    return await extract_invoice(document, hints=demo_hints(SENDER), use_model=False)


def _lines(extraction: Extraction) -> list[tuple[str, str | None, Decimal, Decimal, Decimal]]:
    assert extraction.invoice is not None, extraction.problems
    return [
        (line.description, line.product_code, line.quantity, line.unit_price, line.amount)
        for line in extraction.invoice.lines
    ]


# -- a typewriter scan ---------------------------------------------------------------------------


def _scan(
    header: list[Text],
    rows: list[list[Text]],
    totals: tuple[str, str, str] = ("261.00", "52.20", "313.20"),
) -> Document:
    """A monospaced-looking invoice whose words were placed with stray gaps, as a retyped or
    scanned page comes out: `Inv0ice   date :`, `Tota1   due`."""
    t = [
        Text(40, 40, "N0rthwind   Metals", 11),
        Text(40, 54, "VAT  DE123456704", 9),
        Text(40, 90, "INV0ICE", 14),
        Text(40, 110, "Inv0ice   n0."),
        Text(150, 110, ":  NWM-5501"),
        Text(40, 124, "Inv0ice"),
        Text(100, 124, "date  :  2026-11-20"),
        Text(40, 138, "Y0ur    order"),
        Text(150, 138, ":  PO-00005"),
        *header,
        *[t for row in rows for t in row],
        Text(300, 330, "Net"),
        Text(340, 330, "t0tal"),
        Text(550, 330, f"EUR  {totals[0]}", right=True),
        Text(300, 344, "VAT  20 %"),
        Text(550, 344, f"EUR  {totals[1]}", right=True),
        Text(300, 358, "Tota1"),
        Text(340, 358, "due"),
        Text(550, 358, f"EUR  {totals[2]}", right=True),
    ]
    return Document.from_bytes(placed_pdf([t]), "scan.pdf")


async def test_a_scan_with_broken_labels_look_alike_digits_and_a_cut_header_is_read() -> None:
    # The header's words ran together (`Price Qty` in one cell over two columns): its columns
    # are not trusted, the rows are read by their numbers, and the order's price tells which
    # one is the price.
    header = [
        Text(40, 200, "Item"),
        Text(110, 200, "Description"),
        Text(345, 200, "Price Qty"),
        Text(550, 200, "Am0unt", right=True),
    ]
    rows = [
        [
            Text(40, 220, "DRILL-HSS"),
            Text(110, 220, "HSS dri11"),  # `dri11`: kept as written, no letter guessed for 1
            Text(165, 220, "bit set"),
            Text(380, 220, "24.00", right=True),
            Text(430, 220, "9", right=True),
            Text(550, 220, "216.00", right=True),
        ],
        [Text(110, 232, "in b0x of")],  # wrapped onto the next line
        [Text(110, 244, "19")],  # and a lone number wrapped after it
        [
            Text(40, 260, "CUT-DISC"),
            Text(110, 260, "Cutting"),
            Text(160, 260, "disc"),
            Text(200, 260, "125"),  # number-like words of the description, in cells of their own
            Text(235, 260, "mm,"),
            Text(380, 260, "1.80", right=True),
            Text(430, 260, "25", right=True),
            Text(550, 260, "45.00", right=True),
        ],
    ]

    extraction = await _read(_scan(header, rows))

    assert extraction.method == "grounded" and not extraction.review, extraction.problems
    invoice = extraction.invoice
    assert invoice is not None
    assert (invoice.invoice_number, invoice.issue_date, invoice.po_number) == (
        "NWM-5501",
        dt.date(2026, 11, 20),
        "PO-00005",
    )
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("261.00"), D("52.20"), D("313.20"))
    assert _lines(extraction) == [
        ("HSS dri11 bit set in box of 19", "DRILL-HSS", D(9), D("24.00"), D("216.00")),
        ("Cutting disc 125 mm,", "CUT-DISC", D(25), D("1.80"), D("45.00")),
    ]


def test_a_header_whose_cells_ran_together_places_no_columns() -> None:
    assert table_headers(text_words("Description   Qty   Price   Total"))
    assert not table_headers(text_words("Description   Qty   Price Amount   Total"))


async def test_a_scan_whose_price_and_quantity_nothing_tells_apart_goes_to_a_person() -> None:
    # 4 x 6.00 = 6.00 x 4, the header is cut, and no order line costs 6.00 or 4: not guessed.
    header = [Text(40, 200, "Description"), Text(330, 200, "Qty Price"), Text(550, 200, "Total")]
    rows = [
        [
            Text(40, 220, "Mystery part"),
            Text(380, 220, "6.00", right=True),
            Text(430, 220, "4", right=True),
            Text(550, 220, "24.00", right=True),
        ]
    ]

    extraction = await _read(_scan(header, rows, ("24.00", "4.80", "28.80")))

    assert extraction.review
    assert any(p.startswith("lines") or p.startswith("subtotal") for p in extraction.problems)


# -- mail bodies ---------------------------------------------------------------------------------

SENTENCES = """Dear accounts team,

Invoice no. NWM-5502. Invoice date 20 November 2026. Due date 20 December 2026. Your order PO-00005.

- 3 pcs HSS drill bit set (19 pcs) [DRILL-HSS] x 24.00 = 72.00
- Cutting disc 125 mm [CUT-DISC]: 40 x 1.80 = 72.00

Net total: EUR 144.00
VAT 20%: EUR 28.80
Total due: EUR 172.80

Kind regards, Northwind Metals
"""


async def test_fields_stated_in_sentences_and_items_as_products_are_read() -> None:
    extraction = await _read(Document.from_text(SENTENCES))

    assert extraction.method == "grounded" and not extraction.review, extraction.problems
    invoice = extraction.invoice
    assert invoice is not None
    assert invoice.invoice_number == "NWM-5502"
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2026, 11, 20), dt.date(2026, 12, 20))
    assert _lines(extraction) == [
        ("HSS drill bit set (19 pcs)", "DRILL-HSS", D(3), D("24.00"), D("72.00")),
        ("Cutting disc 125 mm", "CUT-DISC", D(40), D("1.80"), D("72.00")),
    ]


async def test_dotted_dates_ending_a_sentence_are_read() -> None:
    text = """Rechnungsnummer NWM-5509. Rechnungsdatum 22.11.2026. Zahlbar bis 22.12.2026. Ihre Bestellung PO-00005.

- 2 Stk HSS drill bit set (19 pcs) [DRILL-HSS] x 24,00 = 48,00

Nettobetrag: 48,00 €
zzgl. 20 % USt.: 9,60 €
Rechnungsbetrag: 57,60 €
"""

    extraction = await _read(Document.from_text(text))

    assert not extraction.review, extraction.problems
    assert extraction.invoice is not None
    assert extraction.invoice.issue_date == dt.date(2026, 11, 22)
    assert extraction.invoice.due_date == dt.date(2026, 12, 22)


async def test_an_item_sentence_that_does_not_multiply_is_not_read() -> None:
    text = SENTENCES.replace("x 24.00 = 72.00", "x 24.00 = 82.00")

    extraction = await _read(Document.from_text(text))

    assert extraction.review
    assert extraction.invoice is None or len(extraction.invoice.lines) == 1


async def test_a_pipe_table_in_a_mail_is_read_cell_by_cell() -> None:
    text = """Invoice number: NWM-5503
Invoice date: 2026-11-21
PO: PO-00005

| # | Item | Code | Qty | Price | Amount |
|---|------|------|-----|-------|--------|
| 1 | HSS drill bit set (19 pcs) | DRILL-HSS | 2 | 24.00 | 48.00 |
| 2 | Cutting disc 125 mm | CUT-DISC | 10 | 1.80 | 18.00 |

Subtotal: EUR 66.00
VAT 20%: EUR 13.20
Total: EUR 79.20
"""

    extraction = await _read(Document.from_text(text))

    assert not extraction.review, extraction.problems
    assert _lines(extraction) == [
        ("HSS drill bit set (19 pcs)", "DRILL-HSS", D(2), D("24.00"), D("48.00")),
        ("Cutting disc 125 mm", "CUT-DISC", D(10), D("1.80"), D("18.00")),
    ]


# -- day and month -------------------------------------------------------------------------------


# The order and the one drill bit set it bills, with the totals: what the documents about dates
# have in common below their dates.
ONE_SET = """Your order: PO-00005

  Item                          Qty      Price     Amount
  HSS drill bit set (19 pcs)      1      24.00      24.00

Subtotal: EUR 24.00
VAT 20%: EUR 4.80
Total: EUR 28.80"""


def _dated(issue: str, due: str, footer: str) -> Document:
    return Document.from_text(
        f"""Invoice no.: NWM-5504
Invoice date: {issue}
Due date: {due}
{ONE_SET}
{footer}
"""
    )


async def _read_dates(document: Document, issued: dt.date, due: dt.date) -> Extraction:
    """Read `document`: it passes, issued on `issued` and due on `due`."""
    extraction = await _read(document)

    assert not extraction.review, extraction.problems
    assert extraction.invoice is not None
    assert extraction.invoice.issue_date == issued
    assert extraction.invoice.due_date == due
    return extraction


async def test_payment_terms_tell_the_order_of_day_and_month() -> None:
    # 11/12 and 12/12 are both possible either way; only November 12 + 30 days is December 12.
    document = _dated("11/12/2026", "12/12/2026", "Payment within 30 days net.")
    extraction = await _read_dates(document, dt.date(2026, 11, 12), dt.date(2026, 12, 12))
    assert "payment terms" in extraction.evidence["issue_date"].how


async def test_without_terms_only_a_usual_payment_term_tells_the_order() -> None:
    # December 3 to January 2 is 30 days; March 12 to February 1 would be 326.
    document = _dated("12/03/2026", "01/02/2027", "Thank you for your business.")
    extraction = await _read_dates(document, dt.date(2026, 12, 3), dt.date(2027, 1, 2))
    assert "usual payment term" in extraction.evidence["due_date"].how


async def test_another_date_on_the_document_tells_the_order_of_day_and_month() -> None:
    document = _dated("05/11/2026", "05/12/2026", "Delivered on 28/10/2026.")
    await _read_dates(document, dt.date(2026, 11, 5), dt.date(2026, 12, 5))


async def test_a_labelled_due_date_that_cannot_be_read_for_certain_goes_to_a_person() -> None:
    # The issue date is certain, the due date is not, and no terms or other date settle it:
    # the invoice is not paid with its due date left out.
    extraction = await _read(_dated("2026-11-20", "03/04/2027", "Thank you for your business."))

    assert extraction.review
    assert any(
        p.startswith("due_date: labelled") and "could not be read" in p for p in extraction.problems
    ), extraction.problems


async def test_a_heading_row_over_a_value_row_gives_each_value_its_heading() -> None:
    text = """FACTURA

Nº DE FACTURA      FECHA DE EMISIÓN      VENCIMIENTO      SU PEDIDO
NWM-5505           20/11/2026            20/12/2026       PO-00005

  Concepto                       Cantidad    Precio unit.    Importe
  HSS drill bit set (19 pcs)         1           24,00         24,00

Base imponible: 24,00 €
IVA 20 %: 4,80 €
Total factura: 28,80 €
"""

    extraction = await _read(Document.from_text(text))

    assert not extraction.review, extraction.problems
    assert extraction.invoice is not None
    assert extraction.invoice.due_date == dt.date(2026, 12, 20)


# -- a quantity in its description's cell ----------------------------------------------------------


def _right_aligned(quantity: str, amount: str) -> Document:
    columns = [Column(40, "Menge"), Column(60, "Bezeichnung")]
    columns += [Column(400, "Einzelpreis", right=True), Column(550, "Gesamtpreis", right=True)]
    # the quantity right-aligned in a narrow column, so close to the text that they join
    joined = [Column(56, right=True), *columns[1:]]
    meta = [("Rechnungsnummer", "NWM-5506"), ("Rechnungsdatum", "20.11.2026")]
    meta += [("Ihre Bestellung", "PO-00005")]
    totals = [("Nettobetrag", f"{amount} €")]
    totals += [("zzgl. 20 % USt.", "0,00 €" if amount == "0,00" else "9,00 €")]
    totals += [("Rechnungsbetrag", "54,00 €")]
    t = [
        Text(40, 40, "Northwind Metals", 14, bold=True),
        Text(40, 56, "VAT DE123456704"),
        Text(400, 40, "RECHNUNG", 16, bold=True),
        *rows(70, [Column(350), Column(450)], meta, step=14),
        *heading(150, columns),
        *row(168, joined, [quantity, "Cutting disc 125 mm", "1,80", amount]),
        *rows(200, [Column(400), Column(550, right=True)], totals, step=14),
    ]
    return Document.from_bytes(placed_pdf([t]), "rechnung.pdf")


async def test_a_quantity_sharing_its_descriptions_cell_is_read_when_the_row_adds_up() -> None:
    extraction = await _read(_right_aligned("25", "45,00"))

    assert not extraction.review, extraction.problems
    assert _lines(extraction) == [("Cutting disc 125 mm", "CUT-DISC", D(25), D("1.80"), D("45.00"))]


async def test_a_leading_number_that_does_not_multiply_is_not_taken_for_the_quantity() -> None:
    extraction = await _read(_right_aligned("30", "45,00"))

    assert extraction.review
    assert extraction.invoice is None or not extraction.invoice.lines


# -- dates without a label -------------------------------------------------------------------------


def _unlabelled(head: str, footer: str) -> Document:
    return Document.from_text(
        f"""Northwind Metals
{head}

Invoice no.: NWM-5507
{ONE_SET}

{footer}
"""
    )


async def test_a_due_date_stated_in_a_sentence_and_a_lone_head_date_are_read() -> None:
    document = _unlabelled(
        "Hamburg, 20 November 2026", "Payment is due on 20 December 2026. Thank you."
    )
    extraction = await _read_dates(document, dt.date(2026, 11, 20), dt.date(2026, 12, 20))
    assert extraction.evidence["due_date"].how == "stated in a sentence"


async def test_a_head_date_beside_a_word_or_beside_another_date_is_not_taken() -> None:
    beside = await _read(_unlabelled("Lieferdatum     20.11.2026", ""))
    two = await _read(_unlabelled("20.11.2026\n21.11.2026", ""))

    for extraction in (beside, two):
        assert extraction.review
        assert any(p.startswith("issue_date") for p in extraction.problems), extraction.problems


# -- look-alike letters in numbers -----------------------------------------------------------------

RETYPED = """Invoice no.: NWM-5508
Invoice date: 2026-11-20
Your order: PO-00005

  Item                          Qty      Price     Amount
  HSS drill bit set (19 pcs)      2      24.OO      48.0O
  Cutting disc 125 mm            1O       1.8O      18.OO

Subtotal: EUR 66.OO
VAT 20%: EUR l3.2O
Total: EUR 79.2O
"""


async def test_look_alike_letters_in_numbers_are_read_as_digits_when_it_adds_up() -> None:
    extraction = await _read(Document.from_text(RETYPED))

    assert not extraction.review, extraction.problems
    assert extraction.invoice is not None
    invoice = extraction.invoice
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("66.00"), D("13.20"), D("79.20"))
    assert [(q, p, a) for _, _, q, p, a in _lines(extraction)] == [
        (D(2), D("24.00"), D("48.00")),
        (D(10), D("1.80"), D("18.00")),
    ]


async def test_a_look_alike_that_does_not_add_up_goes_to_a_person() -> None:
    # `S9.2O` reads 59.20, which is not 66.00 + 13.20: the checks catch it, nothing is paid
    extraction = await _read(Document.from_text(RETYPED.replace("79.2O", "S9.2O")))

    assert extraction.review
    assert any(p.startswith("total") for p in extraction.problems), extraction.problems
