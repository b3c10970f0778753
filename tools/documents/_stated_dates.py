"""Dates an invoice states without a label the reader knows: the due date in a sentence
(`Payment is due on 12 March 2026.`, `Zahlbar bis zum 12.03.2026.`), and the issue date as
the one date written alone at the head of the document (`Zürich, 20.11.2026`).

Taken only where a labelled reading found none, only when the date reads for certain, and the
issue date only when it is the document's single such date above its lines: anything more is
left to a person.
"""

from __future__ import annotations

import datetime as dt
import re

from tools.documents._dates import Unsure, read_date
from tools.documents._header_fields import date_order
from tools.documents._reading import READ, State

__all__ = ["stated_dates"]

HEAD_DATE = READ - 0.05  # a date identified by where it stands, not by a label
_DUE_SENTENCE = re.compile(
    r"(?:payment\s+(?:is\s+)?|(?:this\s+)?invoice\s+is\s+|amount\s+is\s+)?(?:due|payable)\s+"
    r"(?:on|by|no\s+later\s+than|before)"
    r"|(?:zahlbar|fällig|zu\s+zahlen)\s+(?:bis\s+(?:zum\s+)?|am\s+|spätestens\s+(?:am\s+)?)"
    r"|(?:payable|à\s+régler|à\s+payer)\s+(?:avant\s+le|au\s+plus\s+tard\s+le|le)"
    r"|(?:vence|pagadera?|a\s+pagar)\s+(?:el|antes\s+del?)"
    r"|(?:scade|pagabile|da\s+pagare)\s+(?:il|entro\s+il)"
    r"|(?:te\s+betalen|vervalt)\s+(?:voor|op)",
    re.IGNORECASE,
)
_ALONE = re.compile(r"^(?:[^\W\d_][^\d:：]{0,30},\s*)?(?P<date>.+)$")


def stated_dates(state: State, first_row: int | None) -> None:
    """Fill due_date from a sentence and issue_date from a lone head date, where unlabelled.

    `first_row`: index of the first line of the lines table (the head is above it).
    """
    if "due_date" not in state.values and not _labelled_unread(state, "due_date"):
        _due_in_sentence(state)
    if "issue_date" not in state.values and not _labelled_unread(state, "issue_date"):
        _lone_head_date(state, first_row)


def _labelled_unread(state: State, name: str) -> bool:
    return any(p.startswith(f"{name}: labelled") for p in state.problems)


def _due_in_sentence(state: State) -> None:
    found = []
    for line in state.words.lines:
        text = " ".join(cell.text for cell in line.cells)
        for m in _DUE_SENTENCE.finditer(text):
            value = _date_after(state, text[m.end() :])
            if value is not None:
                found.append((value, line, text))
    if len({v for v, _, _ in found}) == 1:
        value, line, text = found[0]
        state.fill("due_date", value, line.box, text, "stated in a sentence", READ)
    elif found:
        shown = ", ".join(sorted({t for _, _, t in found}))
        state.problems.append(
            f"due_date: stated in several sentences with different dates: {shown}"
        )


def _lone_head_date(state: State, first_row: int | None) -> None:
    dates = []
    for line in state.words.lines:
        if first_row is not None and line.index >= first_row:
            break
        for cell in line.cells:
            m = _ALONE.match(cell.text.strip())
            value = _certain(state, m.group("date"), whole=True) if m else None
            if value is not None and len(line.cells) == 1:  # nothing beside it to label it
                dates.append((value, cell))
    taken = {state.values.get(name) for name in ("due_date",)}
    dates = [(v, c) for v, c in dates if v not in taken]
    if len(dates) == 1:
        value, cell = dates[0]
        state.fill(
            "issue_date",
            value,
            cell.box,
            cell.text,
            "the only date written alone at the head of the document",
            HEAD_DATE,
        )


def _date_after(state: State, text: str) -> dt.date | None:
    """The date the text starts with: its longest first words (at most six) that are a date."""
    tokens = text.strip(" ,:").split()
    for count in range(min(6, len(tokens)), 0, -1):
        value = _certain(state, " ".join(tokens[:count]).rstrip(".,;"), whole=True)
        if value is not None:
            return value
    return None


def _certain(state: State, text: str, *, whole: bool) -> dt.date | None:
    """The date `text` starts with (or, `whole`, consists of), when its reading is certain."""
    if not text or not re.search(r"\d", text):
        return None
    try:
        read = read_date(text, date_order(state))
    except Unsure:
        return None
    if read is None:
        return None
    value, written = read
    spaced = " ".join(text.split())
    if whole and " ".join(written.split()) != spaced.rstrip("."):
        return None
    if not whole and not spaced.startswith(" ".join(written.split())):
        return None
    return value
