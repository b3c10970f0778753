"""Amounts and dates as people write them in invoice text (1,234.56 / 1.234,56; 2026-03-01 /
01.03.2026 / 1 March 2026), parsed for the layouts and searched for to ground a model's answer."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from iso4217 import Currency

CURRENCIES = frozenset(c.code for c in Currency)  # ISO 4217
AMOUNT = r"-?\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d{1,4})?|-?\d+(?:[.,]\d{1,4})?"
_AMOUNT = re.compile(rf"(?<![\w.,-]){AMOUNT}(?![\w]|[.,]\d)")
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januar", "janvier"),
            ("february", "feb", "februar", "fevrier"),
            ("march", "mar", "marz", "märz", "mars"),
            ("april", "apr", "avril"),
            ("may", "mai"),
            ("june", "jun", "juni", "juin"),
            ("july", "jul", "juli", "juillet"),
            ("august", "aug", "aout", "août"),
            ("september", "sep", "sept", "septembre"),
            ("october", "oct", "oktober", "octobre"),
            ("november", "nov", "novembre"),
            ("december", "dec", "dezember", "décembre", "decembre"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE = (
    r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}"
    rf"|\d{{1,2}}\.? (?:{_MONTH})\.? \d{{4}}|(?:{_MONTH})\.? \d{{1,2}},? \d{{4}}"
    rf"|\d{{1,2}}-(?:{_MONTH})-\d{{4}}"
)
_DATE = re.compile(DATE, re.IGNORECASE)


def parse_amount(token: str) -> Decimal | None:
    """1,234.56 and 1.234,56 and 1 234,56 and 1234.5: the last separator followed by one, two or
    four digits is the decimal mark; a lone separator before three digits groups thousands."""
    token = token.strip().replace("'", "").replace(" ", "")
    if not re.fullmatch(r"-?[\d.,]+", token) or not re.search(r"\d", token):
        return None
    last = max(token.rfind(","), token.rfind("."))
    if last >= 0:
        head, tail = token[:last], token[last + 1 :]
        lone = token.count(",") + token.count(".") == 1
        thousands = len(tail) == 3 and (not lone or head.lstrip("-") not in ("", "0"))
        token = head.replace(",", "").replace(".", "") + ("" if thousands else ".") + tail
    try:
        return Decimal(token)
    except InvalidOperation:
        return None


def parse_date(token: str, *, day_first: bool = True) -> dt.date | None:
    """A date in one of the DATE forms; for 01/02/2026 `day_first` decides."""
    token = token.strip().lower().replace(",", "")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
            return dt.date.fromisoformat(token)
        if m := re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})", token):
            a, b, year = (int(g) for g in m.groups())
            day, month = (a, b) if day_first or "." in token else (b, a)
            return dt.date(year, month, day)
        words = re.split(r"[\s.-]+", token)
        words = [w for w in words if w]
        if len(words) == 3 and words[1] in MONTHS:
            return dt.date(int(words[2]), MONTHS[words[1]], int(words[0]))
        if len(words) == 3 and words[0] in MONTHS:
            return dt.date(int(words[2]), MONTHS[words[0]], int(words[1]))
    except ValueError:
        return None
    return None


def amounts_in(text: str) -> set[Decimal]:
    """Every number written in text, under each plausible reading of its separators."""
    found: set[Decimal] = set()
    for match in _AMOUNT.finditer(text):
        token = match.group()
        value = parse_amount(token)
        if value is not None:
            found.add(value)
        if re.fullmatch(r"-?\d{1,3}[.,]\d{3}", token):  # 1,234 or 1.234: also a decimal
            found.add(Decimal(token.replace(",", ".")))
    return found


def dates_in(text: str) -> set[dt.date]:
    """Every date written in text, under both day/month orders when ambiguous."""
    found: set[dt.date] = set()
    for match in _DATE.finditer(text):
        for day_first in (True, False):
            value = parse_date(match.group(), day_first=day_first)
            if value is not None:
                found.add(value)
    return found
