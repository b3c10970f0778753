"""The grounded reader: an invoice in a layout no rule knows, read from its words and positions
against what the ERP expects (`Hints`), filling a value only where the document shows it.

The vendor is identified by what identifies it (the sender's address, a tax id, a bank account),
its name on the document only corroborating; PO numbers are found by the shape of the ERP's;
table rows are read by the columns their header names, or, without one, where a row's numbers
make quantity x price = amount; the header fields and totals by labels in seven languages, left
of or above their value. Each value carries its evidence (page, box, text) and a confidence.
What is not found, or found twice with two values, is said in `problems` and left unfilled; the
checks (`_validation.py`) then judge what was read.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from rapidfuzz import fuzz

from tools.documents._amounts import (
    Number,
    Style,
    currencies_in,
    document_style,
    numbers_in,
    value_of,
)
from tools.documents._dates import Unsure, read_date
from tools.documents._hints import DateOrder, Hints, OrderLineHint, SupplierHint, normalise_id
from tools.documents._invoice import Evidence, Invoice, InvoiceLine
from tools.documents._labels import (
    DAY_FIRST_LANGUAGES,
    INSTRUCTIONS,
    column_of,
    label_at,
    title_kind,
)
from tools.documents._text import CURRENCIES
from tools.documents._words import Box, Cell, Line, Words

AMOUNTS = ("subtotal", "tax", "total")
DATES = ("issue_date", "due_date")
READ = 0.95  # a labelled value read once, or a table row whose numbers agree
CORROBORATED = 0.97  # a vendor identified and its name written on the document
DERIVED = 0.85  # a value the document implies (no tax written and total = subtotal)
NAME_ONLY = 0.4  # a vendor known by name alone: never enough to pay
NAME_SCORE = 88  # rapidfuzz partial token ratio for a name to count as written
_INVOICE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,39}")
_PERCENT = re.compile(r"%|％")
_MONTH_COUNTRIES_MDY = frozenset({"US", "PH", "BZ", "FM"})


@dataclass
class Reading:
    """What the grounded reader made of a document."""

    invoice: Invoice | None
    evidence: dict[str, Evidence]
    problems: list[str]
    notes: list[str]
    final: bool = False  # no other reader may try: not an invoice, or it talks to its reader


@dataclass
class _Candidate:
    value: Any
    cell: Cell
    label: Cell
    how: str


@dataclass
class _State:
    words: Words
    hints: Hints
    style: Style | None
    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    languages: dict[str, int] = field(default_factory=dict)  # label language -> labels seen
    label_lines: dict[int, str] = field(default_factory=dict)  # line index -> field it labels

    def fill(
        self, name: str, value: Any, box: Box | None, text: str, how: str, conf: float
    ) -> None:
        self.values[name] = value
        self.evidence[name] = Evidence(
            page=box.page if box else None,
            box=(box.x0, box.top, box.x1, box.bottom) if box else None,
            text=text,
            how=how,
            confidence=conf,
        )


def read_grounded(words: Words, hints: Hints | None) -> Reading:
    """Read an invoice from a document's words; never fills a value it did not find."""
    hints = hints or Hints()
    numbers = [n for cell in words.cells() for n in numbers_in(cell.text)]
    state = _State(words, hints, document_style(numbers))
    kind = _kind(words)
    if kind is not None:
        return Reading(
            None,
            {},
            [f"document: {kind[0]} (title {kind[1]!r}), not an invoice: nothing to pay"],
            [],
            final=True,
        )
    if m := INSTRUCTIONS.search(words.text):
        state.problems.append(
            f"document: it addresses instructions to whoever reads it ({m.group()!r}); an "
            "invoice has no reason to, so a person reads this one"
        )
    header_lines = _table_headers(words)
    supplier = _vendor(state)
    _labelled(state, header_lines)
    order_lines = _po_number(state, supplier)
    _currency(state)
    _lines(state, header_lines, order_lines)
    _derived(state)
    reading = _finish(state)
    reading.final = any(p.startswith("document: it addresses") for p in reading.problems)
    return reading


# -- what the document is ----------------------------------------------------------------------


def _kind(words: Words) -> tuple[str, str] | None:
    """A non-invoice document's kind and title, when its title says so (and no invoice title)."""
    kinds: dict[str, str] = {}
    for line in words.lines[:25]:
        for cell in line.cells[:3]:
            kind = title_kind(cell.text)
            if kind is not None:
                kinds.setdefault(kind, cell.text)
    others = [(k, t) for k, t in kinds.items() if k != "invoice"]
    if others and "invoice" not in kinds:
        return others[0]
    return None


# -- labelled header fields and totals ---------------------------------------------------------


def _table_headers(words: Words) -> dict[int, tuple[Line, dict[str, Cell]]]:
    """Lines naming at least two of the quantity, price and amount columns, by line index."""
    headers = {}
    for line in words.lines:
        columns: dict[str, Cell] = {}
        for cell in line.cells:
            name = column_of(cell.text)
            if name is not None and name not in columns:
                columns[name] = cell
        if len(columns) >= 2:
            headers[line.index] = (line, columns)
    return headers


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


def _labelled(state: _State, header_lines: dict[int, tuple[Line, dict[str, Cell]]]) -> None:
    for line in state.words.lines:
        for cell in line.cells:
            if (hit := label_at(cell.text)) is not None:
                state.languages[hit.language] = state.languages.get(hit.language, 0) + 1
    found: dict[str, list[_Candidate]] = {}
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
                        _Candidate(value, where, cell, f"label {label_text!r} ({hit.language})")
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


def _parse(state: _State, name: str, text: str) -> Any:
    text = text.strip()
    if not text:
        return _SKIP
    if name in AMOUNTS:
        numbers = [n for n in numbers_in(text) if not _is_percent(text, n)]
        if not numbers:
            return _SKIP if _PERCENT.search(text) else None
        if len(numbers) > 1 or _words_beside(text, numbers[0]):
            return None  # `Total items: 3` is no amount
        return value_of(numbers[0], state.style)
    if name in DATES:
        try:
            read = read_date(text, _date_order(state))
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


def _is_percent(text: str, number: Number) -> bool:
    return bool(_PERCENT.match(text[number.end :].lstrip()))


def _date_order(state: _State) -> DateOrder | None:
    if state.hints.date_order:
        return state.hints.date_order
    supplier = state.values.get("_supplier")
    if isinstance(supplier, SupplierHint) and supplier.country:
        return "MDY" if supplier.country.upper() in _MONTH_COUNTRIES_MDY else "DMY"
    day_first = sum(n for lang, n in state.languages.items() if lang in DAY_FIRST_LANGUAGES)
    if day_first > state.languages.get("en", 0):
        return "DMY"  # labels in German, French, ...: no one there writes the month first
    return None


# -- the vendor --------------------------------------------------------------------------------


def _vendor(state: _State) -> SupplierHint | None:
    """Identify the vendor by identifiers; fill vendor_name (and its tax id when written)."""
    words, hints = state.words, state.hints
    reasons: dict[int, list[tuple[str, Box | None, str]]] = {}
    by_id = {s.id: s for s in hints.suppliers}
    sender = hints.sender_address()
    if sender:
        domain = sender.rsplit("@", 1)[1]
        exact = [s for s in hints.suppliers if sender in {e.lower() for e in s.emails}]
        same_domain = [
            s for s in hints.suppliers if domain in {e.lower().rsplit("@", 1)[-1] for e in s.emails}
        ]
        for supplier in exact or (same_domain if len(same_domain) == 1 else []):
            how = "sender address" if exact else f"sender's domain {domain}"
            reasons.setdefault(supplier.id, []).append((how, None, sender))
    for line in words.lines:
        squashed = normalise_id(line.text)
        for supplier in hints.suppliers:
            for kind, values in (
                ("tax id", supplier.tax_ids),
                ("bank account", supplier.bank_accounts),
            ):
                for value in values:
                    if len(normalise_id(value)) >= 6 and normalise_id(value) in squashed:
                        reasons.setdefault(supplier.id, []).append((kind, line.box, line.text))
    if len(reasons) > 1:
        named = "; ".join(
            f"{by_id[i].name} by {', '.join(sorted({r[0] for r in rs}))}"
            for i, rs in reasons.items()
        )
        state.problems.append(f"vendor_name: the document points at several suppliers: {named}")
    elif len(reasons) == 1:
        ((supplier_id, found),) = reasons.items()
        supplier = by_id[supplier_id]
        written = _name_written(words, supplier.name)
        how = " and ".join(sorted({r[0] for r in found}))
        kind, box, text = found[0]
        if written is not None:
            state.fill(
                "vendor_name",
                supplier.name,
                written.box,
                written.text,
                f"identified by {how} ({text}); its name is written on the document",
                CORROBORATED,
            )
        else:
            state.fill(
                "vendor_name",
                supplier.name,
                box,
                text,
                f"identified by {how}; its name is not written as the ERP has it",
                READ - 0.05,
            )
        state.values["_supplier"] = supplier
        for line in words.lines:
            ids = [t for t in supplier.tax_ids if normalise_id(t) in normalise_id(line.text)]
            if ids:
                state.fill("vendor_tax_id", ids[0], line.box, line.text, "its tax id", READ)
                break
        return supplier
    # Not identified: a name alone is no proof, but a person should see what the document says.
    by_name = [(s, c) for s in hints.suppliers if (c := _name_written(words, s.name)) is not None]
    if len(by_name) == 1:
        guess, cell = by_name[0]
        state.fill(
            "vendor_name", guess.name, cell.box, cell.text, "name only, not identified", NAME_ONLY
        )
        state.problems.append(
            f"vendor_name: {guess.name!r} is written on the document, but neither the sender "
            "address, a tax id nor a bank account identifies the vendor"
        )
    else:
        top = words.lines[0].cells[0] if words.lines else None
        if top is not None:
            state.fill("vendor_name", top.text, top.box, top.text, "the document's first line", 0.2)
        state.problems.append(
            "vendor_name: no known supplier is identified by the sender address, a tax id or a "
            "bank account on the document"
            + (f" (sender {sender})" if sender else " (no sender address given)")
        )
    return None


def _name_written(words: Words, name: str) -> Cell | None:
    """The cell where a supplier's name is written (fuzzy, legal form aside), if any."""
    wanted = re.sub(
        r"\b(gmbh|ltd|limited|inc|llc|s\.?a\.?s?|s\.?r\.?l|b\.?v|ag|plc)\b\.?", "", name, flags=re.I
    ).strip()
    best: tuple[float, Cell | None] = (0.0, None)
    for cell in words.cells():
        if len(cell.text) < 4:
            continue
        score = fuzz.partial_token_sort_ratio(wanted.casefold(), cell.text.casefold())
        if score > best[0] and len(cell.text) >= len(wanted) * 0.6:
            best = (score, cell)
    return best[1] if best[0] >= NAME_SCORE else None


# -- the purchase order ------------------------------------------------------------------------


def _po_number(state: _State, supplier: SupplierHint | None) -> list[OrderLineHint]:
    """Find the PO number by the ERP's pattern (or its label); return the lines to look for."""
    hints = state.hints
    orders = {o.number.upper(): (s, o) for s in hints.suppliers for o in s.orders}
    references = {
        (o.reference or "").upper(): o.number.upper()
        for s in hints.suppliers
        for o in s.orders
        if o.reference and len(o.reference) >= 5
    }
    pattern = hints.po_pattern()
    seen: dict[str, tuple[Line, str]] = {}
    for line in state.words.lines:
        if pattern is not None:
            for m in pattern.finditer(line.text):
                seen.setdefault(m.group().upper(), (line, m.group()))
        for reference, number in references.items():
            if reference in line.text.upper():
                seen.setdefault(number, (line, reference))
    labelled = state.values.get("po_number")
    if not seen and labelled is not None:
        seen[str(labelled).upper()] = (state.words.lines[0], str(labelled))
    if len(seen) > 1:
        state.problems.append(
            f"po_number: the document names several purchase orders: {', '.join(sorted(seen))}"
        )
        state.values.pop("po_number", None)
        state.evidence.pop("po_number", None)
        return _supplier_lines(supplier)
    if not seen:
        state.notes.append("po_number: no purchase order number found on the document")
        state.values.pop("po_number", None)
        state.evidence.pop("po_number", None)
        return _supplier_lines(supplier)
    ((number, (line, text)),) = seen.items()
    known = orders.get(number)
    display = known[1].number if known else text
    how = "the ERP's purchase order number pattern" if known else "label"
    state.fill("po_number", display, line.box, line.text, how, READ)
    if known is None:
        return _supplier_lines(supplier)
    owner, order = known
    if supplier is not None and owner.id != supplier.id:
        state.problems.append(
            f"po_number: {order.number} is an order with {owner.name}, not with {supplier.name}, "
            "the vendor the document identifies"
        )
    return list(order.lines)


def _supplier_lines(supplier: SupplierHint | None) -> list[OrderLineHint]:
    return [line for order in (supplier.orders if supplier else []) for line in order.lines]


def _currency(state: _State) -> None:
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


# -- the lines table ---------------------------------------------------------------------------


@dataclass
class _Row:
    line: Line
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    text_cells: list[Cell]
    how: str
    confidence: float


def _lines(
    state: _State,
    headers: dict[int, tuple[Line, dict[str, Cell]]],
    order_lines: list[OrderLineHint],
) -> None:
    rows: list[_Row] = []
    header: tuple[Line, dict[str, Cell]] | None = None
    in_table = False
    attached = -1  # index of the last line that belongs to the last row
    for line in state.words.lines:
        if line.index in headers:
            header, in_table = headers[line.index], True
            continue
        labelled = state.label_lines.get(line.index)
        if labelled in (*AMOUNTS, "currency"):
            in_table = False  # the totals end a table (until the next header)
            continue
        if labelled is not None:
            continue
        row = _row(state, line, header if in_table else None, order_lines)
        if row is not None:
            rows.append(row)
            attached = line.index
        elif (
            rows
            # A description wrapped onto the next line: right under its row on the same page and
            # starting under its description, never a running header, footer or note further
            # down or on the next page.
            and line.index == attached + 1
            and line.page == rows[-1].line.page
            # whole numbers may belong to it (`DIN 933`, `500 mm`); an amount never does
            and not any(
                re.search(r"\d[.,'’ ]\d", n.raw) for c in line.cells for n in numbers_in(c.text)
            )
            and not all(numbers_only(c.text) for c in line.cells)  # a ruled line is no text
            and any(line.cells[0].box.overlaps_x(c.box) for c in rows[-1].text_cells)
        ):
            rows[-1].text_cells.extend(line.cells)
            attached = line.index
    if not rows:
        state.problems.append("lines: no table row with quantity, unit price and amount was found")
        return
    items = []
    free = list(order_lines)
    for number, row in enumerate(rows, start=1):
        description = " ".join(c.text for c in row.text_cells).strip()
        code, matched = _order_line(row, description, free)
        if code:  # the code is its own field, not part of what was delivered
            description = re.sub(rf"\(?(?<![\w-]){re.escape(code)}(?![\w-])\)?", " ", description)
            description = re.sub(r"\s+", " ", description).strip()
        how = row.how
        if matched is not None:
            free.remove(matched)
            how += f"; the order line {matched.product_code or matched.description!r}"
        items.append(
            InvoiceLine(
                description=description or "(no description)",
                product_code=code,
                quantity=row.quantity,
                unit_price=row.unit_price,
                amount=row.amount,
            )
        )
        state.fill(f"lines[{number}]", None, row.line.box, row.line.text, how, row.confidence)
    state.values["lines"] = items
    if free:
        state.notes.append(
            "lines: open order lines not on the document: "
            + ", ".join(line.product_code or line.description for line in free)
        )


def _row(
    state: _State,
    line: Line,
    header: tuple[Line, dict[str, Cell]] | None,
    order_lines: list[OrderLineHint],
) -> _Row | None:
    found: list[tuple[Decimal, Cell]] = []
    text_cells: list[Cell] = []
    for cell in line.cells:
        numbers = [n for n in numbers_in(cell.text) if not _is_percent(cell.text, n)]
        letters = re.sub(r"[\d\s.,'’%€$£¥-]|EUR|USD|GBP|CHF|CNY", "", cell.text)
        if len(numbers) == 1 and len(letters) <= 3:
            value = value_of(numbers[0], state.style)
            if value is None:
                return None  # `1,234` in a document that does not say which mark is decimal
            found.append((value, cell))
        elif cell.text.strip() and not numbers_only(cell.text) and not _is_unit(cell.text):
            text_cells.append(cell)
    if len(found) < 3 or not text_cells:
        return None
    consistent = {
        (q[0], p[0], a[0])
        for (q, p, a) in itertools.permutations(found, 3)
        if abs(q[0] * p[0] - a[0]) <= Decimal("0.01") and a[0] != 0
    }
    columns: dict[str, Decimal] = {}
    if header is not None:
        slack = 1.0 if state.words.kind == "text" else 6.0
        columns = _by_column(found, header[1], slack) or {}
        if not set(columns) >= {"quantity", "unit_price", "amount"}:
            columns = _by_index(state, line, header) or columns
        if set(columns) >= {"quantity", "unit_price", "amount"}:
            q, p, a = columns["quantity"], columns["unit_price"], columns["amount"]
            agree = abs(q * p - a) <= Decimal("0.01")
            how = "row under the table header" + ("" if agree else " (its numbers disagree)")
            return _Row(line, q, p, a, text_cells, how, READ)
    if not consistent:
        return None
    amounts = {r[2] for r in consistent}
    if len(amounts) != 1:
        state.notes.append(f"line {line.text!r}: its numbers multiply in several ways; not read")
        return None
    pairs = {(q, p) for q, p, _ in consistent}
    (amount,) = amounts
    if len(pairs) == 1:
        (q, p), how = pairs.pop(), "row whose quantity x price = amount"
    elif (
        len(pairs) == 2
        and "amount" in columns
        and ("quantity" in columns or "unit_price" in columns)
    ):
        # the header names the amount and one of the other two: the swap is settled by it
        known = "quantity" if "quantity" in columns else "unit_price"
        pick = [pair for pair in pairs if pair[0 if known == "quantity" else 1] == columns[known]]
        if len(pick) != 1:
            return None
        (q, p), how = (
            pick[0],
            f"row: amount and {known} under the header, quantity x price = amount",
        )
    else:
        # quantity x price = price x quantity: which is which, the header did not say. The order
        # line the row names (by its code or description) may: its price is one of the two.
        description = " ".join(c.text for c in text_cells)
        probe = _Row(line, Decimal(0), Decimal(0), amount, text_cells, "", 0.0)
        _, ordered = _order_line(probe, description, order_lines)
        pick = [pair for pair in pairs if ordered is not None and pair[1] == ordered.unit_price]
        if len(pick) != 1:
            state.notes.append(f"line {line.text!r}: quantity and unit price cannot be told apart")
            return None
        (q, p), how = pick[0], "row: quantity x price = amount, the price the order's"
        return _Row(line, q, p, amount, text_cells, how, DERIVED + 0.05)
    return _Row(line, q, p, amount, text_cells, how, READ)


# Units of measure written in a column of their own: part of the quantity, not the description.
_UNIT_WORDS = """pc pcs pce pces piece pieces ea each unit units u ud uds unid unidad unidades pz pezzi
    stk st stück stueck stuks pièce pièces unité unités m m2 m² m3 m³ mm cm km kg g t l ml h hr
    hrs hour hours std box boxes set sets pkt pack packs pair pairs pr roll rolls sheet sheets
    件 个 個 只 套 米 箱 台 张 卷 千克 公斤"""
UNITS = frozenset(_UNIT_WORDS.split())


def _is_unit(text: str) -> bool:
    return text.strip().rstrip(".").casefold() in UNITS


def numbers_only(text: str) -> bool:
    return not re.search(r"[^\W\d_]", text)


def _by_column(
    found: list[tuple[Decimal, Cell]], header: dict[str, Cell], slack: float
) -> dict[str, Decimal] | None:
    """The row's numbers under the header's quantity, price and amount columns, or None when a
    column has none or two. A number under no column (a position number) is not counted."""
    chosen: dict[str, Decimal] = {}
    for value, cell in found:
        under = [name for name, head in header.items() if cell.box.overlaps_x(head.box, slack)]
        if not under:
            continue
        centre = (cell.box.x0 + cell.box.x1) / 2
        column = min(under, key=lambda n: abs(centre - (header[n].box.x0 + header[n].box.x1) / 2))
        if column in chosen:
            return None
        chosen[column] = value
    return chosen


def _by_index(
    state: _State, line: Line, header: tuple[Line, dict[str, Cell]]
) -> dict[str, Decimal] | None:
    """A row with as many cells as its header, read cell by cell (a text table whose columns
    do not line up, as when wide characters shift them)."""
    head, columns = header
    if len(line.cells) != len(head.cells):
        return None
    chosen = {}
    for name, cell in columns.items():
        numbers = numbers_in(line.cells[head.cells.index(cell)].text)
        value = value_of(numbers[0], state.style) if len(numbers) == 1 else None
        if value is None:
            return None
        chosen[name] = value
    return chosen


def _order_line(
    row: _Row, description: str, free: list[OrderLineHint]
) -> tuple[str | None, OrderLineHint | None]:
    """The order line this row bills: by product code written in the row, else by description."""
    text = row.line.text.upper()
    for line in free:
        if line.product_code and re.search(
            rf"(?<![\w-]){re.escape(line.product_code.upper())}(?![\w-])", text
        ):
            return line.product_code, line
    scored = sorted(
        (
            (
                max(
                    fuzz.token_set_ratio(description.casefold(), (t or "").casefold())
                    for t in (line.description, line.product_name)
                ),
                index,
            )
            for index, line in enumerate(free)
        ),
        reverse=True,
    )
    if scored and scored[0][0] >= 85 and (len(scored) == 1 or scored[1][0] < scored[0][0] - 10):
        line = free[scored[0][1]]
        return line.product_code, line
    return None, None


# -- totals the document implies, and the invoice ----------------------------------------------


def _derived(state: _State) -> None:
    values = state.values
    lines: list[InvoiceLine] = values.get("lines") or []
    summed = sum((line.amount for line in lines), Decimal(0))
    if "tax" not in values and "subtotal" in values and values["subtotal"] == values.get("total"):
        state.fill("tax", Decimal(0), None, "", "no tax written; total = subtotal", DERIVED)
    if "subtotal" not in values and "total" in values and lines:
        tax = values.get("tax", Decimal(0))
        if summed + tax == values["total"]:
            state.fill(
                "subtotal",
                summed,
                None,
                "",
                "not written; the lines add up to total - tax",
                DERIVED,
            )
            if "tax" not in values:
                state.fill("tax", Decimal(0), None, "", "no tax written; lines = total", DERIVED)


_REQUIRED = ("vendor_name", "invoice_number", "issue_date", "currency", "subtotal", "tax", "total")


def _finish(state: _State) -> Reading:
    values = {k: v for k, v in state.values.items() if k in Invoice.model_fields}
    missing = [name for name in _REQUIRED if name not in values]
    problems = state.problems + [f"{name}: not found on the document" for name in missing]
    found = ", ".join(f"{k} {v}" for k, v in values.items() if k in _REQUIRED) or "nothing"
    evidence = {k: e for k, e in state.evidence.items() if not k.startswith("_")}
    if missing:
        return Reading(None, evidence, [*problems, f"document: found {found}"], state.notes)
    values.setdefault("lines", [])
    try:
        invoice = Invoice.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        problems.append(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
        return Reading(None, evidence, problems, state.notes)
    return Reading(invoice, evidence, problems, state.notes)
