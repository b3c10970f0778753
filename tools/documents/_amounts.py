"""Amounts as vendors write them, read by a parser of our own that refuses what is ambiguous.

`1.234,56`, `1,234.56`, `1 234,56`, `1'234.56`, `1234.5`, `€ 12,50`, `12.50 EUR`. A number's
decimal mark is certain when its last separator is followed by one, two or four digits, or when
both marks appear; a lone separator before exactly three digits (`1,234`, `1.234`) may be either,
and is read with the document's style, which the certain numbers decide. When the document's
certain numbers disagree (a comma-decimal and a dot-decimal amount) or none decides, an uncertain
number is refused, never guessed. (babel and price-parser were weighed: babel parses by a locale
we do not know in advance, price-parser guesses `1,234` as 1234 whatever the document.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

Style = Literal[".", ","]  # the decimal mark

SYMBOLS = {"€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "CNY", "￥": "CNY", "CHF": "CHF"}
NUMBER = re.compile(
    r"(?<![\w.,'’/-])[-−]?(?:"
    # French grouping by plain spaces, only with decimals after a comma: `1 234,56`; a plain
    # space elsewhere separates two numbers (`2 100.00` is a quantity and a price)
    r"\d{1,3}(?: \d{3})+,\d{1,4}"
    r"|\d{1,3}(?:[,.'’\u202f\u00a0]\d{3})+(?:[.,]\d{1,4})?"
    r"|\d+(?:[.,]\d{1,4})?"
    r")(?![\w]|[.,]\d)"
)
_CURRENCY_WORD = re.compile(r"\b(?:EUR|USD|GBP|CHF|CNY|RMB|JPY|SEK|DKK|NOK|PLN|CZK)\b")


@dataclass(frozen=True)
class Number:
    """One number as written: its text, span in the text, and the readings it allows."""

    raw: str
    start: int
    end: int
    certain: Style | None  # the decimal mark when the writing shows it, else None
    readings: dict[str, Decimal]  # style (or "plain") -> value


def numbers_in(text: str) -> list[Number]:
    """Every number written in text with its possible readings."""
    found = []
    for match in NUMBER.finditer(text):
        number = _readings(match.group(), match.start(), match.end())
        if number is not None:
            found.append(number)
    return found


def _readings(raw: str, start: int, end: int) -> Number | None:
    token = raw.replace("−", "-")
    for space in (" ", "\u202f", "\u00a0", "'", "’"):
        token = token.replace(space, "")
    negative = token.startswith("-")
    digits = token.lstrip("-")
    seps = [(i, c) for i, c in enumerate(digits) if c in ".,"]
    try:
        if not seps:
            value = Decimal(digits)
            return Number(raw, start, end, None, {"plain": _sign(value, negative)})
        last_at, last = seps[-1]
        tail = digits[last_at + 1 :]
        head = digits[:last_at]
        kinds = {c for _, c in seps}
        if len(kinds) == 2:
            # both marks: the last one is the decimal mark, the other groups
            if any(c == last for _, c in seps[:-1]):
                return None
            value = Decimal(head.replace(",", "").replace(".", "") + "." + tail)
            return Number(raw, start, end, _style(last), {last: _sign(value, negative)})
        if len(seps) > 1:
            # one mark repeated: it groups thousands (1.234.567 / 1,234,567), never decimals
            if len(tail) != 3:
                return None
            value = Decimal(digits.replace(last, ""))
            grouping: Style = "," if last == "." else "."
            return Number(raw, start, end, grouping, {grouping: _sign(value, negative)})
        if len(tail) != 3 or head in ("", "0", "-0"):
            # 12,50 / 12.5 / 0,125: the mark is decimal
            value = Decimal(head + "." + tail)
            return Number(raw, start, end, _style(last), {last: _sign(value, negative)})
        as_decimal = Decimal(head + "." + tail)
        as_grouped = Decimal(head + tail)
        other: Style = "," if last == "." else "."
        return Number(
            raw,
            start,
            end,
            None,
            {last: _sign(as_decimal, negative), other: _sign(as_grouped, negative)},
        )
    except InvalidOperation:
        return None


def _style(mark: str) -> Style:
    return "," if mark == "," else "."


def _sign(value: Decimal, negative: bool) -> Decimal:
    return -value if negative else value


def document_style(numbers: Iterable[Number]) -> Style | None:
    """The decimal mark the document's certain numbers agree on; None if none or they differ."""
    styles = {n.certain for n in numbers if n.certain is not None}
    return styles.pop() if len(styles) == 1 else None


def value_of(number: Number, style: Style | None) -> Decimal | None:
    """The number's value in the document's style; None when it stays ambiguous."""
    if "plain" in number.readings:
        return number.readings["plain"]
    if len(number.readings) == 1:
        return next(iter(number.readings.values()))
    if style is None:
        return None
    return number.readings.get(style)


# A letter standing for the digit it looks like, inside a number (`1O4,OO`, `l5.2O`, `S0.00`):
# typed or scanned documents have them. Only in a run of digits, separators and look-alikes
# that holds a real digit; the caller still requires what it reads to add up.
_LOOKALIKE_NUMBER = re.compile(r"(?<![^\W\d_])[\dOolIS][\dOolIS.,'’]*(?![^\W\d_])")
_DIGIT_FOR = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "S": "5"})


def digits_for_letters(text: str) -> str:
    """`text` with look-alike letters inside numbers read as digits (same length)."""

    def digits(match: re.Match[str]) -> str:
        token = match.group()
        if not re.search(r"\d", token) or not re.search(r"[OolIS]", token):
            return token
        # O is no unit; l, I and S only inside (`10l` is ten litres, `5S` a size)
        if re.search(r"[lIS](?![\dOo.,'’])", token):
            return token
        return token.translate(_DIGIT_FOR)

    return _LOOKALIKE_NUMBER.sub(digits, text)


def currencies_in(text: str) -> set[str]:
    """ISO codes and unambiguous symbols written in text (`$` alone counts as USD)."""
    codes = {("CNY" if c == "RMB" else c) for c in _CURRENCY_WORD.findall(text)}
    for symbol, code in SYMBOLS.items():
        if symbol in text and not (symbol == "$" and re.search(r"[A-Z]{1,2}\$", text)):
            codes.add(code)
    return codes
