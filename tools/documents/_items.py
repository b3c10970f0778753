"""Items as vendors write them outside a ruled table: units of measure beside quantities, and
an item stated as `3 pz Grease cartridge [LUB-EP2] x 4,95 = 14,85`."""

from __future__ import annotations

import re
from decimal import Decimal

from tools.documents._amounts import numbers_in, value_of
from tools.documents._reading import State
from tools.documents._words import Cell, Line

__all__ = ["UNITS", "is_unit", "item_line", "numbers_only", "with_unit"]

# Units of measure written in a column of their own: part of the quantity, not the description.
_UNIT_WORDS = """pc pcs pce pces piece pieces ea each unit units u ud uds unid unidad unidades pz pezzi
    stk st stück stueck stuks pièce pièces unité unités m m2 m² m3 m³ mm cm km kg g t l ml h hr
    hrs hour hours std box boxes set sets pkt pack packs pair pairs pr roll rolls sheet sheets
    件 个 個 只 套 米 箱 台 张 卷 千克 公斤"""
UNITS = frozenset(_UNIT_WORDS.split())


def with_unit(found: list[tuple[Decimal, Cell]]) -> set[Decimal]:
    """The values written with a unit of measure after them: quantities."""
    return {
        value
        for value, cell in found
        if (m := re.fullmatch(r"[\d.,'’ ]+\s*([^\W\d_.]+\.?|[²³]|m[²³])", cell.text.strip()))
        and is_unit(m.group(1))
    }


# An item written as a sentence: `- 3 pz Grease cartridge [LUB-EP2] x 4,95 = 14,85`, or its
# description first: `Grease cartridge: 3 x 4,95 = 14,85`.
_TIMES = r"\s+(?:x|×|à|@|a)\s+|\s*[×*]\s*"
_ITEM = re.compile(rf"(?P<left>.+?)(?:{_TIMES})(?P<price>[^=]+?)\s*=\s*(?P<amount>[^=]+?)\s*$")
_QUANTITY_FIRST = re.compile(
    r"^[\s*•·-]*(?P<q>\d[\d.,]*)\s*(?P<unit>[^\W\d_]{1,8}\.?)?\s+(?P<d>.+)$"
)
_QUANTITY_LAST = re.compile(
    r"^[\s*•·-]*(?P<d>.+?)[\s:]+(?P<q>\d[\d.,]*)\s*(?P<unit>[^\W\d_]{1,8}\.?)?$"
)


def item_line(state: State, line: Line) -> tuple[Decimal, Decimal, Decimal, Cell] | None:
    """A line stating an item as `quantity x price = amount`, read only when it adds up: its
    quantity, price, amount and description."""
    m = _ITEM.match(line.text)
    if m is None:
        return None
    price, amount = (_one_amount(state, m.group(g)) for g in ("price", "amount"))
    if price is None or amount is None:
        return None
    for shape in (_QUANTITY_FIRST, _QUANTITY_LAST):
        left = shape.match(m.group("left"))
        if left is None:
            continue
        quantity = _one_amount(state, left.group("q"))
        description = left.group("d")
        unit = left.group("unit")
        if unit and not is_unit(unit):
            description = f"{unit} {description}" if shape is _QUANTITY_FIRST else description
            if shape is _QUANTITY_LAST:
                continue  # `... 40 teeth`: a word after the number, not a unit
        if quantity is None or quantity * price != amount or amount == 0:
            continue
        return quantity, price, amount, Cell(description.strip(" :-"), line.box, line.index)
    return None


def _one_amount(state: State, text: str) -> Decimal | None:
    numbers = numbers_in(text)
    if len(numbers) != 1 or re.search(r"[^\W\d_]{4,}", text):
        return None
    return value_of(numbers[0], state.style)


def is_unit(text: str) -> bool:
    return text.strip().rstrip(".").casefold() in UNITS


def numbers_only(text: str) -> bool:
    return not re.search(r"[^\W\d_]", text)
