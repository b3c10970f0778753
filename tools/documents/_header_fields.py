"""The grounded reader's labelled fields: invoice number, dates, PO, tax id, currency and the
totals, each read from the cell right of its label or the cell below it, in seven languages.

A value is taken only when the whole cell is that value (no amount from `Total items: 3`, no
date from `Due to delays, ...`); a field labelled twice with two values is a problem, not a
choice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tools.documents._amounts import Number, currencies_in, numbers_in, value_of
from tools.documents._dates import Unsure, read_date
from tools.documents._hints import DateOrder, SupplierHint, normalise_id
from tools.documents._labels import DAY_FIRST_LANGUAGES, label_at
from tools.documents._reading import AMOUNTS, DATES, READ, Candidate, State
from tools.documents._text import CURRENCIES
from tools.documents._words import Cell, Line, Words

__all__ = ["date_order", "find_currency", "is_percent", "read_labels"]

_INVOICE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,39}")
_PERCENT = re.compile(r"%|％")
_MONTH_COUNTRIES_MDY = frozenset({"US", "PH", "BZ", "FM"})


def _value_cells(words: Words, line: Line, position: int) -> Iterator[Cell]:
    """Where a label's value may stand: the cells right of it up to the next label, then the
    cell below it (a header row of labels over a row of values)."""
    for cell in line.cells[position + 1 :]:
        if label_at(cell.text) is not None:
            break
        yield cell
    label = line.cells[position]
    for below in words.lines[line.index + 1 : line.index + 3]:
        if below.page != line.page:
            return
        under = [c for c in below.cells if c.box.overlaps_x(label.box)]
        if under:
            yield under[0]
            return


def read_labels(state: State, header_lines: dict[int, tuple[Line, dict[str, Cell]]]) -> None:
    for line in state.words.lines:
        for cell in line.cells:
            if (hit := label_at(cell.text)) is not None:
                state.languages[hit.language] = state.languages.get(hit.language, 0) + 1
    found: dict[str, list[Candidate]] = {}
    for line in state.words.lines:
        if line.index in header_lines:
            continue
        for position, cell in enumerate(line.cells):
            hit = label_at(cell.text)
            if hit is None:
                continue
            rest = cell.text[hit.end :].strip()
            label_text = cell.text[: hit.end].strip()
            candidates: list[tuple[str, Cell]] = [(rest, cell)] if rest else []
            candidates += [(c.text, c) for c in _value_cells(state.words, line, position)]
            for text, where in candidates:
                value = _parse(state, hit.field, text)
                if value is _SKIP:
                    continue
                if value is not None:
                    state.label_lines.setdefault(line.index, hit.field)
                    found.setdefault(hit.field, []).append(
                        Candidate(value, where, cell, f"label {label_text!r} ({hit.language})")
                    )
                break
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


_SKIP = object()  # not this cell: look at the next one (a rate beside a tax label)


def _key(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _parse(state: State, name: str, text: str) -> Any:
    text = text.strip()
    if not text:
        return _SKIP
    if name in AMOUNTS:
        numbers = [n for n in numbers_in(text) if not is_percent(text, n)]
        if not numbers:
            return _SKIP if _PERCENT.search(text) else None
        if len(numbers) > 1 or _words_beside(text, numbers[0]):
            return None  # `Total items: 3` is no amount
        return value_of(numbers[0], state.style)
    if name in DATES:
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
        token = text.split()[0].strip(":：#")
        if _INVOICE_NUMBER.fullmatch(token) and re.search(r"\d", token):
            return token
        return None
    if name == "po_number":
        token = text.split()[0].strip(":：#")
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
    day_first = sum(n for lang, n in state.languages.items() if lang in DAY_FIRST_LANGUAGES)
    if day_first > state.languages.get("en", 0):
        return "DMY"  # labels in German, French, ...: no one there writes the month first
    return None


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
