"""The grounded reader's labelled fields: invoice number, dates, PO, tax id, currency and the
totals, each read from the cell right of its label or the cell below it, in seven languages.

A value is taken only when the whole cell is that value (no amount from `Total items: 3`, no
date from `Due to delays, ...`); a field labelled twice with two values is a problem, not a
choice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from tools.documents._amounts import Number, currencies_in, digits_for_letters, numbers_in, value_of
from tools.documents._dates import Unsure, read_date
from tools.documents._hints import DateOrder, SupplierHint, normalise_id
from tools.documents._labels import DAY_FIRST_LANGUAGES, label_in
from tools.documents._reading import AMOUNTS, DATES, READ, Candidate, State
from tools.documents._text import CURRENCIES
from tools.documents._words import Box, Cell, Line, Words

__all__ = ["date_order", "find_currency", "is_percent", "read_labels"]

_INVOICE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,39}")
_PERCENT = re.compile(r"%|％")
_MONTH_COUNTRIES_MDY = frozenset({"US", "PH", "BZ", "FM"})


def segments(line: Line) -> list[Cell]:
    """A line's cells as labels and values stand in them: a cell holding several sentences
    (`Invoice no. 7. Date 4 May 2026.`) cut before each label, and a label broken over two or
    three cells by stray spaces (`Inv0ice | date : ...`, `Totale | documento`) joined again."""
    pieces: list[Cell] = []
    for cell in line.cells:
        start = 0
        for m in _CLAUSE.finditer(cell.text):
            if m.end() < len(cell.text) and label_in(cell.text[m.end() :]) is not None:
                if cell.text[start : m.start()].strip():
                    pieces.append(replace(cell, text=cell.text[start : m.start() + 1].strip()))
                start = m.end()
        pieces.append(replace(cell, text=cell.text[start:].strip()) if start else cell)
    joined: list[Cell] = []
    i = 0
    while i < len(pieces):
        cell = pieces[i]
        alone = label_in(cell.text)
        best = (cell, i + 1)
        for width in (2, 3):
            if i + width > len(pieces):
                break
            group = pieces[i : i + width]
            text = " ".join(c.text for c in group)
            hit = label_in(text)
            cut = len(" ".join(c.text for c in group[:-1]))
            if hit is not None and hit.end > cut + 1 and (alone is None or hit.end > alone.end):
                box = group[0].box
                for other in group[1:]:
                    box = box.union(other.box)
                best = (Cell(text, box, cell.line), i + width)
        joined.append(best[0])
        i = best[1]
    return joined


_CURRENCY_MARKS = frozenset(CURRENCIES) | {"€", "$", "£", "¥", "￥", "US$"}
_CLAUSE = re.compile(r"(?<=[^\W_])[.;]\s+")


def _value_cells(words: Words, cells: list[Cell], position: int, digits: bool) -> Iterator[Cell]:
    """Where a label's value may stand: the cells right of it up to the next label (or, for a
    value written with digits, up to a cell of words only: a heading of a row of headings),
    then the cell below it that overlaps it most (a header row of labels over a row of values)."""
    for cell in cells[position + 1 :]:
        if digits and cell.text.strip() in _CURRENCY_MARKS:
            continue  # `Total | EUR | 12.50`
        if label_in(cell.text) is not None or (digits and not re.search(r"\d", cell.text)):
            break
        yield cell
    label = cells[position]
    line = words.lines[label.line]
    for below in words.lines[line.index + 1 : line.index + 3]:
        if below.page != line.page:
            return
        under = [c for c in below.cells if c.box.overlaps_x(label.box)]
        if under:
            yield max(under, key=lambda c: _overlap(c.box, label.box))
            return


def _overlap(a: Box, b: Box) -> float:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def read_labels(state: State, header_lines: dict[int, tuple[Line, dict[str, Cell]]]) -> None:
    lines = [(line, segments(line)) for line in state.words.lines]
    for _, cells in lines:
        for cell in cells:
            if (hit := label_in(cell.text)) is not None:
                state.languages[hit.language] = state.languages.get(hit.language, 0) + 1
    found: dict[str, list[Candidate]] = {}
    unread: dict[str, list[tuple[str, Cell, str]]] = {}  # a date labelled, its value unsure
    for line, cells in lines:
        if line.index in header_lines:
            continue
        for position, cell in enumerate(cells):
            hit = label_in(cell.text)
            if hit is None:
                continue
            rest = cell.text[hit.end :].strip()
            label_text = cell.text[: hit.end].strip()
            candidates: list[tuple[str, Cell]] = [(rest, cell)] if rest else []
            digits = hit.field != "currency"
            candidates += [(c.text, c) for c in _value_cells(state.words, cells, position, digits)]
            how = f"label {label_text!r} ({hit.language})"
            for text, where in candidates:
                value = _parse(state, hit.field, text)
                if value is _SKIP:
                    continue
                if value is not None:
                    state.label_lines.setdefault(line.index, hit.field)
                    found.setdefault(hit.field, []).append(Candidate(value, where, cell, how))
                elif hit.field in DATES and _DATE_LIKE.search(text):
                    unread.setdefault(hit.field, []).append((text, cell, how))
                break
    _settle_dates(state, found, unread)
    for name, hits in found.items():
        values = {_key(c.value) for c in hits}
        if len(values) > 1:
            shown = ", ".join(sorted({f"{c.cell.text!r}" for c in hits}))
            state.problems.append(f"{name}: labelled with different values: {shown}")
            continue
        first = hits[0]
        box = (
            first.label.box.union(first.cell.box)
            if first.cell.line == first.label.line
            else (first.cell.box)
        )
        text = (
            first.cell.text
            if first.cell is first.label
            else f"{first.label.text} {first.cell.text}"
        )
        state.fill(name, first.value, box, text, first.how, READ)


# What a date someone tried to write looks like: a year, or day and month with a separator.
_DATE_LIKE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|(?<!\d)\d{1,2}\s?[./-]\s?\d{1,2}(?!\d)")
_TERMS = re.compile(
    r"(?<!\d)(\d{1,3})\s*(?:days?|tage[n]?|jours?|d[ií]as|giorni|gg|dagen|天)(?![^\W\d_])",
    re.IGNORECASE,
)


# Payment terms vendors use, in days: a due date this long after the issue date in one reading
# of `03/12/2026` and not in the other (a year away, or before it) tells the reading.
USUAL_TERMS = frozenset({7, 8, 10, 14, 15, 20, 21, 28, 30, 31, 45, 60, 90})


def _settle_dates(
    state: State,
    found: dict[str, list[Candidate]],
    unread: dict[str, list[tuple[str, Cell, str]]],
) -> None:
    """Labelled dates whose day and month order nothing else told: the payment terms may (issue
    date + N days = due date in one order only), or, with no terms written, the one order in
    which the due date falls a usual term after the issue date (the other giving a gap of a
    day, a year, or a negative one). A labelled date still unread is a problem: an invoice is
    never paid on a due date left out because it could not be read."""
    issue, due = unread.get("issue_date"), unread.get("due_date")
    terms = {int(m.group(1)) for m in _TERMS.finditer(state.words.text)}
    if (issue or due) and not (issue and "issue_date" in found):
        pairs = {}
        for order in ("DMY", "MDY"):
            pair = []
            for name, texts in (("issue_date", issue), ("due_date", due)):
                if texts:
                    pair.append(_read_as(texts[0][0], order))
                elif name in found and len(found[name]) == 1:
                    pair.append(found[name][0].value)
                else:
                    pair.append(None)
            if pair[0] is not None and pair[1] is not None:
                pairs[order] = (pair[0], pair[1], (pair[1] - pair[0]).days)
        if len(terms) == 1:
            # the terms written: issue date + N days is the due date in one order only
            (days,) = terms
            settled = [(o, p) for o, p in pairs.items() if p[2] == days]
            why = f"the payment terms ({days} days)"
        else:
            # no terms written: only one order makes the due date a usual term after the issue
            settled = [(o, p) for o, p in pairs.items() if p[2] in USUAL_TERMS]
            why = "the only order that puts the due date a usual payment term after the issue date"
        if len(settled) == 1:
            order, (first, second, days) = settled[0]
            for (name, texts), value in zip(
                (("issue_date", issue), ("due_date", due)), (first, second), strict=True
            ):
                if texts:
                    text, cell, how = texts[0]
                    note = f"{how}; day and month order ({order}) from {why}"
                    if not why.startswith("the payment"):
                        note += f" ({days} days)"
                    found.setdefault(name, []).append(Candidate(value, cell, cell, note))
                    unread.pop(name)
    for name, texts in unread.items():
        if name not in found:
            state.problems.append(
                f"{name}: labelled ({texts[0][1].text!r}) but its date could not be read for "
                "certain; a person reads it rather than the invoice being paid without it"
            )


def _read_as(text: str, order: DateOrder) -> dt.date | None:
    try:
        read = read_date(text, order)
    except Unsure:
        return None
    return read[0] if read else None


_SKIP = object()  # not this cell: look at the next one (a rate beside a tax label)


def _key(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _parse(state: State, name: str, text: str) -> Any:
    text = text.strip().lstrip(":：#").strip()
    if not text:
        return _SKIP
    if name in AMOUNTS:
        text = digits_for_letters(text)  # `EUR 1O4,OO`; the totals must still add up
        numbers = [n for n in numbers_in(text) if not is_percent(text, n)]
        if not numbers:
            return _SKIP if _PERCENT.search(text) else None
        if len(numbers) > 1 or _words_beside(text, numbers[0]):
            return None  # `Total items: 3` is no amount
        return value_of(numbers[0], state.style)
    if name in DATES:
        text = re.sub(r"(?<=\d)\.$", "", text)  # a sentence's full stop: `... 22.11.2026.`
        try:
            read = read_date(text, date_order(state))
        except Unsure as exc:
            state.notes.append(f"{name}: {exc}")
            return None
        if read is None:
            return None
        # the date must be the value, not somewhere in a sentence (`Due to delays, ...`)
        value, written = read
        if text.lstrip(" :：#.-").startswith(written) or (
            not text[:1].isdigit() and len(text.split()) <= 4 and written == " ".join(text.split())
        ):
            return value
        return None
    if name == "invoice_number":
        token = text.split()[0].strip(":：#").rstrip(".,;")
        if _INVOICE_NUMBER.fullmatch(token) and re.search(r"\d", token):
            return token
        return None
    if name == "po_number":
        token = text.split()[0].strip(":：#").rstrip(".,;")
        return token if re.search(r"\d", token) else None
    if name == "vendor_tax_id":
        token = normalise_id(text.split()[0]) if len(text.split()) == 1 else normalise_id(text)
        return token if re.fullmatch(r"[A-Z]{0,3}\d[A-Z0-9]{5,20}", token) else None
    if name == "currency":
        code = text.split()[0].upper()
        return code if code in CURRENCIES else None
    return None


def _words_beside(text: str, number: Number) -> bool:
    """Whether text holds words besides the number, its currency and a tax rate."""
    rest = text[: number.start] + " " + text[number.end :]
    rest = re.sub(r"[\d.,]+\s*[%％]|[A-Z]{3}\b|[€$£¥￥]|US\$", " ", rest)
    return bool(re.search(r"[^\W\d_]", rest))


def is_percent(text: str, number: Number) -> bool:
    return bool(_PERCENT.match(text[number.end :].lstrip()))


def date_order(state: State) -> DateOrder | None:
    if state.hints.date_order:
        return state.hints.date_order
    supplier = state.values.get("_supplier")
    if isinstance(supplier, SupplierHint) and supplier.country:
        return "MDY" if supplier.country.upper() in _MONTH_COUNTRIES_MDY else "DMY"
    # The document's other dates: `13/11/2026` beside `11/12/2026` says the day comes first.
    orders = set()
    for m in _SLASHED.finditer(state.words.text):
        first, second = int(m.group(1)), int(m.group(3))
        if first > 12 >= second:
            orders.add("DMY")
        elif second > 12 >= first:
            orders.add("MDY")
    if len(orders) == 1:
        return "DMY" if "DMY" in orders else "MDY"
    day_first = sum(n for lang, n in state.languages.items() if lang in DAY_FIRST_LANGUAGES)
    if day_first > state.languages.get("en", 0) and not orders:
        return "DMY"  # labels in German, French, ...: no one there writes the month first
    return None


_SLASHED = re.compile(r"(?<![\d/-])(\d{1,2})([/-])(\d{1,2})\2(?:\d{4})(?![\d/-])")


def find_currency(state: State) -> None:
    if "currency" in state.values:
        return
    codes = currencies_in(state.words.text) & CURRENCIES
    if len(codes) == 1:
        code = codes.pop()
        cell = next((c for c in state.words.cells() if currencies_in(c.text) == {code}), None)
        state.fill(
            "currency",
            code,
            cell.box if cell else None,
            cell.text if cell else code,
            "the only currency written",
            READ,
        )
    elif codes:
        state.problems.append(f"currency: several currencies written: {sorted(codes)}")
    else:
        state.problems.append("currency: no currency is written")
