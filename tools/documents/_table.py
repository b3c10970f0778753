"""The grounded reader's lines table: rows read by the columns their header names or, without
one, where a row's numbers make quantity x price = amount to the cent (the order line telling
price from quantity); each row matched to an open order line by product code or description.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from decimal import Decimal

from rapidfuzz import fuzz

from tools.documents._amounts import digits_for_letters, numbers_in, value_of
from tools.documents._header_fields import is_percent
from tools.documents._hints import OrderLineHint
from tools.documents._invoice import InvoiceLine
from tools.documents._items import is_unit, item_line, numbers_only, with_unit
from tools.documents._labels import column_of, mentions_columns, unswap_letters
from tools.documents._reading import AMOUNTS, DERIVED, READ, State
from tools.documents._words import Cell, Line, Words

__all__ = ["read_lines", "table_headers"]


def table_headers(words: Words) -> dict[int, tuple[Line, dict[str, Cell]]]:
    """Lines naming at least two of the quantity, price and amount columns, by line index.

    A header whose words are cut or run together (`Unit | price Qty | Am0unt`, a scan's stray
    spaces) places its columns wrongly, which would swap quantity and price: it is not used,
    and its rows are read by their numbers instead.
    """
    headers = {}
    for line in words.lines:
        columns: dict[str, Cell] = {}
        broken = False
        for cell in line.cells:
            name = column_of(cell.text)
            if name is not None and name not in columns:
                columns[name] = cell
            elif name is None and mentions_columns(cell.text):
                broken = True
        if len(columns) >= 2 and not broken:
            headers[line.index] = (line, columns)
    return headers


@dataclass
class _Row:
    line: Line
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    text_cells: list[Cell]
    how: str
    confidence: float


def read_lines(
    state: State,
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
        row = _row(state, line, header if in_table else None, order_lines) or _item_row(state, line)
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
            # a ruled line is no text; a lone whole number is (`level` / `5`, `box of` / `200`)
            and (
                not all(numbers_only(c.text) for c in line.cells)
                or (len(line.cells) == 1 and re.fullmatch(r"\d{1,4}", line.cells[0].text))
            )
            and any(line.cells[0].box.overlaps_x(c.box) for c in rows[-1].text_cells)
        ):
            rows[-1].text_cells.extend(line.cells)
            attached = line.index
    if not rows:
        state.problems.append("lines: no table row with quantity, unit price and amount was found")
        return
    state.values["_first_row"] = rows[0].line.index
    items = []
    free = list(order_lines)
    positions = _position_numbers(state, rows)
    for number, row in enumerate(rows, start=1):
        description = " ".join(c.text for c in row.text_cells).strip()
        if positions:
            description = description.split(None, 1)[1] if " " in description else description
        description = unswap_letters(description, inside_only=True)
        code, matched = order_line_of(row, description, free)
        if code:  # the code is its own field, not part of what was delivered
            description = re.sub(
                rf"[(\[]?(?<![\w-]){re.escape(code)}(?![\w-])[)\]]?", " ", description
            )
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
    state: State,
    line: Line,
    header: tuple[Line, dict[str, Cell]] | None,
    order_lines: list[OrderLineHint],
) -> _Row | None:
    """A table row read from a line's cells, its description keeping the number-like words
    written in it (`Spur gear module 2, 40 teeth`)."""
    row = _read_row(state, line, header, order_lines)
    if row is None or not all(c in line.cells for c in row.text_cells):
        return row  # none, or its quantity was cut from its description's cell
    cells: list[Cell] = []
    # a unit word between the description and a quantity that has its own unit (`5 | m | 8 ud.`)
    # belongs to the description
    own_unit = with_unit([(row.quantity, c) for c in line.cells])
    first_text = line.cells.index(row.text_cells[0]) if row.text_cells[0] in line.cells else 0
    used = {row.quantity, row.unit_price, row.amount}
    for index, cell in enumerate(line.cells):
        if cell in row.text_cells:
            cells.append(cell)
            continue
        if index < first_text:
            continue  # a position number before the description
        numbers = numbers_in(cell.text)
        if len(numbers) == 1 and value_of(numbers[0], state.style) in used:
            break  # the row's own numbers start here
        if (numbers and not is_unit(cell.text)) or (is_unit(cell.text) and own_unit):
            cells.append(cell)
    cells += [c for c in row.text_cells if c not in cells]
    row.text_cells = cells
    return row


def _read_row(
    state: State,
    line: Line,
    header: tuple[Line, dict[str, Cell]] | None,
    order_lines: list[OrderLineHint],
) -> _Row | None:
    found: list[tuple[Decimal, Cell]] = []
    text_cells: list[Cell] = []
    for cell in line.cells:
        text = digits_for_letters(cell.text)  # `1O4,OO`: look-alike letters read as digits
        numbers = [n for n in numbers_in(text) if not is_percent(text, n)]
        letters = re.sub(r"[\d\s.,'’%€$£¥-]|EUR|USD|GBP|CHF|CNY", "", text)
        if len(numbers) == 1 and len(letters) <= 3:
            value = value_of(numbers[0], state.style)
            if value is None:
                return None  # `1,234` in a document that does not say which mark is decimal
            found.append((value, cell))
        elif cell.text.strip() and not numbers_only(cell.text) and not is_unit(cell.text):
            text_cells.append(cell)
    split = False
    if len(found) == 2 and text_cells and line.cells[0] is text_cells[0]:
        # A quantity set so close to its description that they share a cell (`500 Washer DIN
        # 125`): its leading number, taken only if quantity x price = amount then holds.
        head = _LEADING_NUMBER.match(text_cells[0].text)
        value = value_of(numbers_in(head.group(1))[0], state.style) if head else None
        if head is not None and value is not None:
            cell = text_cells[0]
            share = len(head.group(1)) / max(len(cell.text), 1)
            box = replace(cell.box, x1=cell.box.x0 + (cell.box.x1 - cell.box.x0) * share)
            found.insert(0, (value, Cell(head.group(1), box, cell.line)))
            text_cells[0] = replace(cell, text=cell.text[head.end() :])
            split = True
    if len(found) < 3 or not text_cells:
        return None
    consistent = {
        (q[0], p[0], a[0])
        for (q, p, a) in itertools.permutations(found, 3)
        if abs(q[0] * p[0] - a[0]) <= Decimal("0.01") and a[0] != 0
    }
    if split and not consistent:
        return None
    columns: dict[str, Decimal] = {}
    if header is not None:
        slack = 1.0 if state.words.kind == "text" else 6.0
        columns = _by_column(found, header[1], slack) or {}
        if not set(columns) >= {"quantity", "unit_price", "amount"}:
            columns = _by_index(state, line, header) or columns
        if set(columns) >= {"quantity", "unit_price", "amount"}:
            q, p, a = columns["quantity"], columns["unit_price"], columns["amount"]
            agree = abs(q * p - a) <= Decimal("0.01")
            if split and not agree:
                return None
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
    elif len({pair for pair in pairs if pair[0] in with_unit(found)}) == 1:
        # the number written with its unit (`10 pcs`, `0,5 m`) is the quantity
        ((q, p),) = {pair for pair in pairs if pair[0] in with_unit(found)}
        how = "row: quantity (written with its unit) x price = amount"
    else:
        # quantity x price = price x quantity: which is which, the header did not say. The order
        # line the row names (by its code or description) may: its price is one of the two.
        description = " ".join(c.text for c in text_cells)
        probe = _Row(line, Decimal(0), Decimal(0), amount, text_cells, "", 0.0)
        _, ordered = order_line_of(probe, description, order_lines)
        pick = [pair for pair in pairs if ordered is not None and pair[1] == ordered.unit_price]
        if len(pick) != 1:
            state.notes.append(f"line {line.text!r}: quantity and unit price cannot be told apart")
            return None
        (q, p), how = pick[0], "row: quantity x price = amount, the price the order's"
        return _Row(line, q, p, amount, text_cells, how, DERIVED + 0.05)
    return _Row(line, q, p, amount, text_cells, how, READ)


_LEADING_NUMBER = re.compile(r"(\d{1,6}(?:[.,]\d{1,3})?)\s+(?=[^\W\d_])")


def _position_numbers(state: State, rows: list[_Row]) -> bool:
    """Whether the rows' descriptions start with their position numbers (1, 2, 3 ...): at least
    two rows numbered in order from 1, or a first row numbered 1 under a position column."""
    leading = []
    for row in rows:
        text = " ".join(c.text for c in row.text_cells)
        m = re.match(r"(\d{1,3})[.)]?\s+(?=[^\W\d_])", text)
        if m is None:
            return False
        leading.append(int(m.group(1)))
    if not leading or leading[0] != 1 or leading != sorted(set(leading)):
        return False
    if len(leading) >= 2:
        return True
    header = [line for line in state.words.lines if line.index < rows[0].line.index and line.cells]
    return bool(header) and _POSITION.fullmatch(header[-1].cells[0].text.strip()) is not None


_POSITION = re.compile(r"#|pos\.?|position|nr\.?|no\.?|n°|item|line|序号|行", re.IGNORECASE)


def _item_row(state: State, line: Line) -> _Row | None:
    item = item_line(state, line)
    if item is None:
        return None
    quantity, price, amount, cell = item
    return _Row(line, quantity, price, amount, [cell], "item line: quantity x price = amount", READ)


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
    state: State, line: Line, header: tuple[Line, dict[str, Cell]]
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


def order_line_of(
    row: _Row, description: str, free: list[OrderLineHint]
) -> tuple[str | None, OrderLineHint | None]:
    """The order line this row bills: by product code written in the row, else by description."""
    text = row.line.text.upper()
    description = unswap_letters(description, inside_only=True)
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
