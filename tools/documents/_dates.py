"""Dates as invoices write them, read only when their reading is certain.

Numeric dates are read here: `2026-03-04`, `2026年3月4日`, `04.03.2026` (the dot is day first),
and `03/04/2026`, whose day and month are told apart by a part over 12, else by the order the
caller knows (the supplier's country, the document's language); with neither it is refused.
Dates with month names (`4 March 2026`, `4. März 2026`, `4 mars 2026`) go to dateparser, which
knows the month names of every language (restricted to the languages we read, strict parsing,
day, month and year all required).
"""

from __future__ import annotations

import datetime as dt
import re

from tools.documents._hints import DateOrder

LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "zh"]
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_CHINESE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DOTTED = re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4}|\d{2})(?![\d.])")
_SLASHED = re.compile(r"(?<![\d/-])(\d{1,2})([/-])(\d{1,2})\2(\d{4})(?![\d/-])")


class Unsure(Exception):
    """The text holds a date whose reading is not certain; the message says why."""


def read_date(text: str, order: DateOrder | None) -> tuple[dt.date, str] | None:
    """The date written in text and the part of it read; None if there is none.

    Raises Unsure for `03/04/2026` when `order` is None, and for an impossible date.
    """
    try:
        if m := _CHINESE.search(text) or _ISO.search(text):
            year, month, day = (int(g) for g in m.groups())
            return dt.date(year, month, day), m.group()
        if m := _DOTTED.search(text):
            day, month, year = (int(g) for g in m.groups())
            return dt.date(year + 2000 if year < 100 else year, month, day), m.group()
        if m := _SLASHED.search(text):
            a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
            if a > 12 or (a != b and b <= 12 and order == "DMY"):
                return dt.date(year, b, a), m.group()
            if b > 12 or a == b or order == "MDY":
                return dt.date(year, a, b), m.group()
            raise Unsure(
                f"{m.group()!r} is {a:02d} {_month(b)} or {b:02d} {_month(a)}, and nothing tells "
                "which (no day over 12, no known country or language of the vendor)"
            )
    except ValueError as exc:
        raise Unsure(f"{text.strip()!r} is not a date: {exc}") from None
    if not re.search(r"[^\W\d_]{3,}", text) or not re.search(r"\d", text):
        return None
    return _worded(text)


def _worded(text: str) -> tuple[dt.date, str] | None:
    import dateparser

    cleaned = re.sub(r"\s+", " ", text.strip().strip(":："))
    parsed = dateparser.parse(
        cleaned,
        languages=LANGUAGES,
        settings={
            "STRICT_PARSING": True,
            "REQUIRE_PARTS": ["day", "month", "year"],
            "RETURN_AS_TIMEZONE_AWARE": False,
            "PREFER_LOCALE_DATE_ORDER": False,
            "DATE_ORDER": "DMY",
        },
    )
    if parsed is None:
        return None
    return parsed.date(), cleaned


def _month(number: int) -> str:
    return dt.date(2000, number, 1).strftime("%B")
