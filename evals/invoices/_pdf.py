"""PDF invoices drawn with reportlab, in five layout families of this eval's own: a ruled table
with labels left of their values, labels above values, a right-aligned totals block without a
code column, a long table split over pages with carried-forward sums, and a typewriter "scan"
with noise in its words. Columns come in several orders; languages, number and date styles
come from the vendor.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from evals.invoices._cases import INJECTION, Case, Line
from evals.invoices._locale import LABELS
from evals.invoices._parties import BUYER, Hand, Vendor

# reportlab's built-in Adobe CID font for simplified Chinese (no font file needed; its text
# layer extracts as Unicode with pypdf and pdfplumber).
CJK = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(CJK))

COLUMN_ORDERS: tuple[tuple[str, ...], ...] = (
    ("code", "description", "qty", "unit", "price", "amount"),
    ("description", "code", "qty", "price", "amount"),
    ("qty", "unit", "code", "description", "price", "amount"),
    ("code", "description", "price", "qty", "amount"),
    ("pos", "description", "qty", "unit", "price", "amount"),
    ("description", "qty", "price", "amount"),
)
_WIDTHS = {
    "pos": 30,
    "code": 80,
    "description": 200,
    "qty": 50,
    "unit": 40,
    "price": 75,
    "amount": 80,
}
_NUMERIC = {"pos", "qty", "price", "amount"}


@dataclass(frozen=True)
class Sheet:
    """Everything a layout prints, formatted once in the vendor's ways."""

    case: Case
    vendor: Vendor
    labels: dict[str, str]
    fonts: tuple[str, str]  # regular, bold
    date_style: str
    columns: tuple[str, ...]
    note: bool  # a delivery note, not an invoice

    @property
    def hand(self) -> Hand:
        return Hand(self.vendor, self.case.printed.currency, self.date_style)

    def date(self, which: str) -> str:
        printed = self.case.printed
        return self.hand.date(printed.issue_date if which == "date" else printed.due_date)

    def num(self, value: Decimal) -> str:
        return self.hand.number(value)

    def money(self, value: Decimal) -> str:
        return self.hand.money(value)

    def cell(self, line: Line, column: str, position: int) -> str:
        if column == "pos":
            return str(position)
        if column == "code":
            return line.product_code or ""
        if column == "description":
            return line.description
        if column == "qty":
            return self.hand.quantity(line.quantity)
        if column == "unit":
            return self.hand.unit(line.product_code)
        if column == "price":
            return self.hand.price(line.unit_price)
        return self.num(line.amount)

    def heading(self, column: str) -> str:
        if column == "pos":
            return "#"
        return self.labels[{"qty": "qty", "price": "price"}.get(column, column)]

    def vat_label(self) -> str:
        return self.labels["vat"].format(rate="20")


def sheet(
    case: Case, vendor: Vendor, rng: random.Random, *, columns: tuple[str, ...] | None = None
) -> Sheet:
    """The sheet of `case`, its variants drawn from `rng`."""
    note = not case.invoice
    chosen = columns or rng.choice(COLUMN_ORDERS)
    if note:  # a delivery note lists what came, without prices
        chosen = tuple(c for c in chosen if c not in ("price", "amount"))
    fonts = (
        (CJK, CJK)
        if vendor.lang == "zh"
        else rng.choice((("Helvetica", "Helvetica-Bold"), ("Times-Roman", "Times-Bold")))
    )
    return Sheet(case, vendor, LABELS[vendor.lang], fonts, rng.choice(vendor.dates), chosen, note)


class _Pen:
    """A canvas writing into memory, with a current font and a few drawing shortcuts."""

    def __init__(self, pagesize: tuple[float, float], fonts: tuple[str, str]) -> None:
        self._buffer = io.BytesIO()
        self.c = Canvas(self._buffer, pagesize=pagesize)
        self.regular, self.bold = fonts

    def pdf(self) -> bytes:
        """Close the document and return it."""
        self.c.save()
        return self._buffer.getvalue()

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 9,
        *,
        bold: bool = False,
        align: str = "left",
    ) -> None:
        self.c.setFont(self.bold if bold else self.regular, size)
        if align == "right":
            self.c.drawRightString(x, y, text)
        elif align == "center":
            self.c.drawCentredString(x, y, text)
        else:
            self.c.drawString(x, y, text)


def _vendor_block(pen: _Pen, s: Sheet, x: float, y: float) -> float:
    v = s.vendor
    if v.local_name:
        pen.text(x, y, v.local_name, 13, bold=True)
        y -= 15
        pen.text(x, y, v.name, 9)
    else:
        pen.text(x, y, v.name, 13, bold=True)
    y -= 12
    for line in (v.street, v.city, v.country, f"{v.tax_label}: {v.tax_id}", v.email):
        pen.text(x, y, line, 8)
        y -= 10
    return y


def _buyer_block(pen: _Pen, s: Sheet, x: float, y: float) -> float:
    pen.text(x, y, s.labels["customer"], 7)
    y -= 11
    for line in (BUYER.name, BUYER.street, BUYER.city, BUYER.country):
        pen.text(x, y, line, 9)
        y -= 11
    return y


def _header_fields(s: Sheet) -> list[tuple[str, str]]:
    t = s.case.printed
    if s.note:
        return [
            (s.labels["delivery_no"], t.invoice_number.replace("/", "-") + "-L"),
            (s.labels["note_date"], s.date("date")),
            (s.labels["order"], t.po_number or ""),
        ]
    fields = [
        (s.labels["number"], t.invoice_number),
        (s.labels["date"], s.date("date")),
        (s.labels["due"], s.date("due")),
    ]
    if t.po_number:
        fields.append((s.labels["order"], t.po_number))
    return fields


def _columns_x(s: Sheet, left: float, width: float) -> list[tuple[str, float, float]]:
    """(column, x, width) with the description taking what the others leave."""
    fixed = sum(_WIDTHS[c] for c in s.columns if c != "description")
    out = []
    x = left
    for column in s.columns:
        w = width - fixed if column == "description" else _WIDTHS[column]
        out.append((column, x, w))
        x += w
    return out


def _row(
    pen: _Pen,
    s: Sheet,
    y: float,
    cells: list[tuple[str, float, float]],
    values: list[str],
    *,
    bold: bool = False,
    size: float = 8.5,
) -> None:
    for (column, x, w), value in zip(cells, values, strict=True):
        if column in _NUMERIC:
            pen.text(x + w - 4, y, value, size, bold=bold, align="right")
        else:
            pen.text(x + 3, y, value, size, bold=bold)


def _totals(s: Sheet) -> list[tuple[str, str]]:
    t = s.case.printed
    return [
        (s.labels["subtotal"], s.money(t.subtotal)),
        (s.vat_label(), s.money(t.tax)),
        (s.labels["total"], s.money(t.total)),
    ]


def _footer(pen: _Pen, s: Sheet, y: float, width: float) -> None:
    v = s.vendor
    pen.c.setLineWidth(0.3)
    pen.c.line(40, y + 10, 40 + width, y + 10)
    pen.text(40, y, f"{v.name} · {v.street} · {v.city} · {s.labels['iban']}: {v.iban}", 7)
    if not s.note:
        pen.text(40, y - 10, s.labels["terms"], 7)


def _injection(pen: _Pen, s: Sheet, y: float) -> None:
    if s.case.injection:
        pen.text(40, y, INJECTION, 6)


def _end_page(pen: _Pen, s: Sheet, width: float, footer: float = 60) -> None:
    _footer(pen, s, footer, width)
    pen.c.showPage()


def _title_and_fields(pen: _Pen, s: Sheet, top: float) -> float:
    """The vendor top left, the title top right, the header fields below it with their labels
    on their left, the buyer under the vendor; returns where the table may start."""
    _vendor_block(pen, s, 40, top)
    pen.text(
        A4[0] - 40, top, s.labels["delivery" if s.note else "invoice"], 18, bold=True, align="right"
    )
    y = top - 40
    for label, value in _header_fields(s):
        pen.text(350, y, f"{label}:", 9)
        pen.text(460, y, value, 9, bold=True)
        y -= 13
    return min(y, _buyer_block(pen, s, 40, top - 110)) - 20


def _totals_under_table(pen: _Pen, s: Sheet, y: float) -> float:
    """The totals in two columns under the table, the total in bold; returns the next line."""
    y -= 10
    for label, value in _totals(s):
        pen.text(380, y, label, 9, bold=label == s.labels["total"])
        pen.text(A4[0] - 44, y, value, 9, bold=label == s.labels["total"], align="right")
        y -= 13
    return y


def _table(
    pen: _Pen,
    s: Sheet,
    lines: list[tuple[int, Line]],
    y: float,
    left: float,
    width: float,
    *,
    ruled: bool,
) -> float:
    cells = _columns_x(s, left, width)
    if ruled:
        pen.c.setFillGray(0.88)
        pen.c.rect(left, y - 4, width, 14, stroke=0, fill=1)
        pen.c.setFillGray(0)
    _row(pen, s, y, cells, [s.heading(c) for c in s.columns], bold=True)
    y -= 16
    for position, line in lines:
        _row(pen, s, y, cells, [s.cell(line, c, position) for c in s.columns])
        if ruled:
            pen.c.setLineWidth(0.2)
            pen.c.line(left, y - 4, left + width, y - 4)
        y -= 15
    if ruled:
        pen.c.setLineWidth(0.5)
        pen.c.rect(left, y + 11, width, 16 + 15 * len(lines) + 0, stroke=1, fill=0)
        for _, x, _w in cells[1:]:
            pen.c.line(x, y + 11, x, y + 27 + 15 * len(lines))
    return y


def _table_layout(case: Case, vendor: Vendor, rng: random.Random) -> bytes:
    """Ruled table; labels left of their values in a box at the top right."""
    s = sheet(case, vendor, rng)
    pen = _Pen(A4, s.fonts)
    width = A4[0] - 80
    y = _title_and_fields(pen, s, A4[1] - 50)
    y = _table(pen, s, list(enumerate(case.printed.lines, 1)), y, 40, width, ruled=True)
    if not s.note:
        y = _totals_under_table(pen, s, y)
    _injection(pen, s, y - 20)
    _end_page(pen, s, width)
    return pen.pdf()


def _stacked_layout(case: Case, vendor: Vendor, rng: random.Random) -> bytes:
    """Labels above their values, in a row of boxes; an unruled table; letter paper."""
    s = sheet(case, vendor, rng)
    size = LETTER if vendor.dates == ("us",) else A4
    pen = _Pen(size, s.fonts)
    width = size[0] - 80
    top = size[1] - 50
    pen.text(40, top, s.labels["delivery" if s.note else "invoice"], 22, bold=True)
    _vendor_block(pen, s, size[0] - 230, top)
    y = _buyer_block(pen, s, 40, top - 40) - 25
    fields = _header_fields(s)
    box = width / len(fields)
    for i, (label, value) in enumerate(fields):
        x = 40 + i * box
        pen.c.setLineWidth(0.4)
        pen.c.rect(x, y - 18, box - 6, 32, stroke=1, fill=0)
        pen.text(x + 4, y + 4, label.upper() if vendor.lang != "zh" else label, 6.5)
        pen.text(x + 4, y - 10, value, 10, bold=True)
    y -= 50
    y = _table(pen, s, list(enumerate(case.printed.lines, 1)), y, 40, width, ruled=False)
    if not s.note:
        y -= 20
        totals = _totals(s)
        box = width / len(totals)
        for i, (label, value) in enumerate(totals):
            x = 40 + i * box
            pen.text(x, y, label, 7)
            pen.text(x, y - 14, value, 11, bold=i == len(totals) - 1)
        y -= 30
    _injection(pen, s, y - 10)
    _end_page(pen, s, width)
    return pen.pdf()


def _totals_right_layout(case: Case, vendor: Vendor, rng: random.Random) -> bytes:
    """Everything right-aligned on the right: the header fields and a totals block; no code
    column (the lines are known by their description only)."""
    columns = rng.choice(
        (
            ("description", "qty", "price", "amount"),
            ("description", "qty", "unit", "price", "amount"),
            ("qty", "description", "price", "amount"),
        )
    )
    s = sheet(case, vendor, rng, columns=columns)
    pen = _Pen(A4, s.fonts)
    width = A4[0] - 80
    right = A4[0] - 40
    top = A4[1] - 50
    _vendor_block(pen, s, 40, top)
    y = top
    pen.text(right, y, s.labels["delivery" if s.note else "invoice"], 16, bold=True, align="right")
    y -= 22
    for label, value in _header_fields(s):
        pen.text(right, y, f"{label} {value}", 9, align="right")
        y -= 12
    y = _buyer_block(pen, s, 300, y - 20) - 20
    y = _table(pen, s, list(enumerate(case.printed.lines, 1)), y, 40, width, ruled=False)
    pen.c.setLineWidth(0.8)
    pen.c.line(300, y + 8, right, y + 8)
    if not s.note:
        y -= 8
        for label, value in _totals(s):
            pen.text(right - 110, y, label, 9, align="right")
            pen.text(right, y, value, 9, bold=label == s.labels["total"], align="right")
            y -= 13
    _injection(pen, s, y - 20)
    _end_page(pen, s, width)
    return pen.pdf()


def _multipage_layout(case: Case, vendor: Vendor, rng: random.Random) -> bytes:
    """A long ruled table split over pages: each page repeats the number and says which page
    it is; sums carried forward at the foot of a page and brought forward at the head of the next."""
    s = sheet(case, vendor, rng)
    per_page = rng.choice((5, 6, 7))
    lines = list(enumerate(case.printed.lines, 1))
    chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)]
    pen = _Pen(A4, s.fonts)
    width = A4[0] - 80
    top = A4[1] - 50
    carried = Decimal(0)
    for page, chunk in enumerate(chunks, 1):
        if page == 1:
            y = _title_and_fields(pen, s, top)
        else:
            pen.text(
                40,
                top,
                f"{s.vendor.name} — {s.labels['delivery_no' if s.note else 'number']} {case.printed.invoice_number}",
                9,
            )
            y = top - 30
            if not s.note:
                brought = s.labels["brought"].format(p=page - 1)
                pen.text(40, y, brought, 9)
                pen.text(A4[0] - 44, y, s.num(carried), 9, align="right")
                y -= 20
        y = _table(pen, s, chunk, y, 40, width, ruled=True)
        carried += sum((line.amount for _, line in chunk), Decimal(0))
        if page < len(chunks):
            if not s.note:
                pen.text(40, y - 6, s.labels["carried"], 9)
                pen.text(A4[0] - 44, y - 6, s.num(carried), 9, align="right")
        elif not s.note:
            y = _totals_under_table(pen, s, y)
            _injection(pen, s, y - 20)
        pen.text(A4[0] / 2, 40, s.labels["page"].format(n=page, m=len(chunks)), 8, align="center")
        _end_page(pen, s, width, footer=70)
    return pen.pdf()


def _noisy(text: str, rng: random.Random, rate: float = 0.35) -> str:
    """Scan-like damage to words without digits: O/0 swaps and doubled spaces. Numbers, dates
    and codes (any word with a digit) are left as printed."""
    words = text.split(" ")
    out = []
    for word in words:
        if word and not any(ch.isdigit() for ch in word) and rng.random() < rate:
            word = word.replace("o", "0", 1) if "o" in word else word.replace("O", "0", 1)
        out.append(word)
    joined = ""
    for i, word in enumerate(out):
        joined += word
        if i < len(out) - 1:
            joined += "  " if rng.random() < 0.3 else " "
    return joined


def _scan_layout(case: Case, vendor: Vendor, rng: random.Random) -> bytes:
    """A typewriter page as an OCR'd scan reads: Courier, words with O/0 confusions and extra
    spaces, long descriptions broken onto a second line, every line a little off its column."""
    s = sheet(case, vendor, rng)
    regular = CJK if vendor.lang == "zh" else "Courier"
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    y = A4[1] - 50

    def put(text: str, x: float = 40, size: float = 9.5) -> None:
        nonlocal y
        canvas.setFont(regular, size)
        canvas.drawString(x + rng.uniform(-1.5, 1.5), y + rng.uniform(-0.8, 0.8), text)
        y -= size + 3.5

    v = vendor
    if v.local_name:
        put(v.local_name, size=12)
    put(_noisy(v.name, rng, 0.2), size=12)
    for text in (v.street, v.city, v.country):
        put(_noisy(text, rng))
    put(f"{_noisy(v.tax_label, rng)} {v.tax_id}")
    y -= 10
    put(_noisy(s.labels["delivery" if s.note else "invoice"], rng), size=14)
    for label, value in _header_fields(s):
        put(f"{_noisy(label, rng)} {' ' * rng.randint(0, 3)}: {value}")
    y -= 6
    put(_noisy(s.labels["customer"], rng) + ": " + BUYER.name)
    y -= 10
    widths = {
        "pos": 4,
        "code": 12,
        "description": 30,
        "qty": 8,
        "unit": 5,
        "price": 11,
        "amount": 12,
    }
    head = ""
    for column in s.columns:
        head += (_noisy(s.heading(column), rng) + " ").ljust(widths[column])
    put(head)
    put("-" * len(head))
    for position, line in enumerate(case.printed.lines, 1):
        row, rest = "", ""
        for column in s.columns:
            value = s.cell(line, column, position)
            if column == "description":
                value = _noisy(value, rng)
                if len(value) > widths[column] - 1:  # wraps, as a narrow scan column does
                    cut = value.rfind(" ", 0, widths[column] - 1)
                    cut = cut if cut > 0 else widths[column] - 1
                    value, rest = value[:cut], value[cut:].strip()
                row += value.ljust(widths[column])
            elif column in _NUMERIC:
                row += value.rjust(widths[column] - 1) + " "
            else:
                row += value.ljust(widths[column])
        put(row)
        if rest:
            put(" " * sum(widths[c] for c in s.columns[: s.columns.index("description")]) + rest)
    put("-" * len(head))
    if not s.note:
        for label, value in _totals(s):
            put(f"{_noisy(label, rng):>40}{' ' * rng.randint(1, 4)}{value:>16}")
    y -= 10
    if case.injection:
        put(INJECTION, size=7)
    put(f"{s.labels['iban']} {v.iban}", size=8)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


RENDERERS: dict[str, Callable[[Case, Vendor, random.Random], bytes]] = {
    "pdf-table": _table_layout,
    "pdf-stacked": _stacked_layout,
    "pdf-totals-right": _totals_right_layout,
    "pdf-multipage": _multipage_layout,
    "pdf-scan": _scan_layout,
}


def render_pdf(case: Case, vendor: Vendor) -> bytes:
    """The PDF of `case` in its format's layout, its variants drawn from the case's style."""
    return RENDERERS[case.format](case, vendor, random.Random(case.style))
