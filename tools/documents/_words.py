"""A document's words with where they stand: pages, lines, and the cells a line splits into.

A PDF's words come from pdfplumber with their boxes (points from the page's top left); a text's
words from its lines, with character columns as x and the line number as y. Either way a line
is cut into cells where the gap between two words is wider than a space, so a label, a value and
a table column each stand in a cell of their own, whatever the layout.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from agent_ops.errors import InvalidInput

# A gap wider than this many average character widths separates two cells of a line.
CELL_GAP = 1.6
# Words whose vertical centres are this close (in line heights) sit on one line.
SAME_LINE = 0.45


@dataclass(frozen=True)
class Box:
    """Where a piece of text stands: page (1-based), left, top, right, bottom.

    PDF: points from the page's top left corner; text: character columns and line numbers.
    """

    page: int
    x0: float
    top: float
    x1: float
    bottom: float

    def union(self, other: Box) -> Box:
        return Box(
            self.page,
            min(self.x0, other.x0),
            min(self.top, other.top),
            max(self.x1, other.x1),
            max(self.bottom, other.bottom),
        )

    def overlaps_x(self, other: Box, slack: float = 0.0) -> bool:
        return self.x0 - slack < other.x1 and other.x0 - slack < self.x1


@dataclass(frozen=True)
class Word:
    text: str
    box: Box


@dataclass(frozen=True)
class Cell(Word):
    """Words of one line that stand together (no wide gap between them): their joined text and
    the box around them, with the line they stand on."""

    line: int  # index of its line in the document


@dataclass(frozen=True)
class Line:
    index: int  # in reading order over the whole document
    page: int
    cells: tuple[Cell, ...]

    @property
    def text(self) -> str:
        return "  ".join(cell.text for cell in self.cells)

    @property
    def box(self) -> Box:
        box = self.cells[0].box
        for cell in self.cells[1:]:
            box = box.union(cell.box)
        return box


@dataclass(frozen=True)
class Words:
    """The whole document: its lines in reading order, page after page."""

    lines: tuple[Line, ...]
    kind: str  # "pdf" or "text": the unit of the boxes

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def cells(self) -> list[Cell]:
        return [cell for line in self.lines for cell in line.cells]


def text_words(text: str) -> Words:
    """Cut a plain text (a mail body, a text file) into lines and cells by its spacing."""
    lines: list[Line] = []
    for number, raw in enumerate(text.replace("\t", "    ").splitlines()):
        if raw.count("|") >= 2:
            # a pipe-separated table (`| 2 | Toner | 64.00 |`): each pipe is a cell border,
            # widened so that the cells stand apart as in a spaced table; every row shifts alike
            raw = raw.replace("|", "   ")
        words = [
            Word(m.group(), Box(1, m.start(), number, m.end(), number + 1))
            for m in re.finditer(r"\S+", raw)
        ]
        if words:
            lines.append(_line(len(lines), 1, words, char_width=1.0))
    return Words(tuple(lines), "text")


def pdf_words(data: bytes, name: str) -> Words:
    """The words of every page of a PDF with their boxes (pdfplumber); blocking."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    lines: list[Line] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page_number, page in enumerate(pdf.pages, start=1):
                raw = page.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False)
                words = [
                    Word(w["text"], Box(page_number, w["x0"], w["top"], w["x1"], w["bottom"]))
                    for w in raw
                    if w["text"].strip()
                ]
                for group in _rows(words):
                    widths = [(w.box.x1 - w.box.x0) / max(len(w.text), 1) for w in group]
                    lines.append(_line(len(lines), page_number, group, sum(widths) / len(widths)))
    except (PDFSyntaxError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InvalidInput(f"{name}: unreadable PDF: {type(exc).__name__}: {exc}") from None
    return Words(tuple(lines), "pdf")


def _rows(words: list[Word]) -> list[list[Word]]:
    """Group a page's words into lines by their vertical centres, top to bottom."""
    rows: list[list[Word]] = []
    for word in sorted(words, key=lambda w: ((w.box.top + w.box.bottom) / 2, w.box.x0)):
        centre = (word.box.top + word.box.bottom) / 2
        height = word.box.bottom - word.box.top
        if rows:
            last = rows[-1]
            last_centre = sum((w.box.top + w.box.bottom) / 2 for w in last) / len(last)
            if abs(centre - last_centre) <= SAME_LINE * max(height, 1.0):
                last.append(word)
                continue
        rows.append([word])
    return [sorted(row, key=lambda w: w.box.x0) for row in rows]


def _line(index: int, page: int, words: list[Word], char_width: float) -> Line:
    cells: list[Cell] = []
    current: list[Word] = []
    for word in words:
        if current and word.box.x0 - current[-1].box.x1 > CELL_GAP * char_width:
            cells.append(_cell(current, index))
            current = []
        current.append(word)
    if current:
        cells.append(_cell(current, index))
    return Line(index, page, tuple(cells))


def _cell(words: list[Word], line: int) -> Cell:
    box = words[0].box
    for word in words[1:]:
        box = box.union(word.box)
    return Cell(" ".join(w.text for w in words), box, line)
