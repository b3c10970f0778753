"""A PDF writer of our own for test documents: text placed anywhere, in Helvetica, any size.

Unlike `tools.documents.text_pdf` (monospaced lines, one column), the words here stand where a
layout puts them (stacked boxes, columns in any order, right-aligned numbers), so the grounded
reader must use positions, not character columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tools.documents._pdf_writer import a4_pdf

# Helvetica advance widths (1/1000 em) for what our test documents write; others count as 556.
_NARROW = {" ": 278, ".": 278, ",": 278, ":": 278, "'": 191, "-": 333, "/": 278, "(": 333}
_NARROW |= {")": 333, "i": 222, "l": 222, "j": 222, "I": 278, "f": 278, "t": 278, "r": 333}
_WIDE = {"M": 833, "W": 944, "m": 833, "w": 722, "%": 889, "€": 556, "@": 1015}


def width(text: str, size: float) -> float:
    return sum(_NARROW.get(c, _WIDE.get(c, 556)) for c in text) * size / 1000


@dataclass(frozen=True)
class Text:
    x: float  # points from the left edge (the right edge of the text when right=True)
    y: float  # points from the top edge, to the baseline
    text: str
    size: float = 9
    bold: bool = False
    right: bool = False


@dataclass(frozen=True)
class Column:
    """Where a column of a layout stands, what its heading says, and which edge it aligns to."""

    x: float
    heading: str = ""
    right: bool = False


def row(
    y: float, columns: Sequence[Column], cells: Sequence[str], size: float = 9, bold: bool = False
) -> list[Text]:
    """One row of a table: each cell in its column."""
    return [
        Text(c.x, y, cell, size, bold=bold, right=c.right)
        for c, cell in zip(columns, cells, strict=True)
    ]


def heading(y: float, columns: Sequence[Column], size: float = 9) -> list[Text]:
    """The columns' headings, bold, in one row."""
    return row(y, columns, [c.heading for c in columns], size, bold=True)


def rows(
    y: float, columns: Sequence[Column], cells: Sequence[Sequence[str]], step: float = 16
) -> list[Text]:
    """Rows one under the other from `y`, `step` apart: a table's lines, a meta block, totals."""
    return [text for n, line in enumerate(cells) for text in row(y + n * step, columns, line)]


def placed_pdf(pages: list[list[Text]]) -> bytes:
    """A4 pages with each text where it is placed."""
    contents = []
    for page in pages:
        body = b""
        for t in page:
            x = t.x - width(t.text, t.size) if t.right else t.x
            body += b"BT /F%d %.1f Tf %.2f %.2f Td (%s) Tj ET\n" % (
                2 if t.bold else 1,
                t.size,
                x,
                842 - t.y,
                _escape(t.text),
            )
        contents.append(body)
    return a4_pdf(["Helvetica", "Helvetica-Bold"], contents)


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
