"""Reading EN 16931 fields out of an XML tree by XPath, collecting a problem per missing or
malformed field (named by Invoice field, business term and element) instead of stopping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from lxml import etree
from pydantic import ValidationError

from tools.documents._invoice import Invoice


class Fields:
    def __init__(self, node: etree._Element, namespaces: Mapping[str, str]) -> None:
        self.node = node
        self.namespaces = dict(namespaces)
        self.problems: list[str] = []

    def at(self, node: etree._Element) -> Fields:
        """The same reader rooted at another node, sharing the problem list."""
        child = Fields(node, self.namespaces)
        child.problems = self.problems
        return child

    def all(self, path: str) -> list[etree._Element]:
        found = self.node.xpath(path, namespaces=self.namespaces)
        assert isinstance(found, list)
        return [e for e in found if isinstance(e, etree._Element)]

    def text(self, *paths: str) -> str | None:
        """The stripped text of the first path that has a non-empty element."""
        for path in paths:
            for element in self.all(path):
                value = (element.text or "").strip()
                if value:
                    return value
        return None

    def need(self, field: str, term: str, *paths: str) -> str:
        value = self.text(*paths)
        if value is None:
            self.problems.append(f"{field}: missing ({term}, {paths[0]})")
            return ""
        return value

    def decimal(
        self, field: str, term: str, *paths: str, default: Decimal | None = None
    ) -> Decimal:
        raw = self.text(*paths)
        if raw is None:
            if default is not None:
                return default
            self.problems.append(f"{field}: missing ({term}, {paths[0]})")
            return Decimal(0)
        try:
            return Decimal(raw)
        except InvalidOperation:
            self.problems.append(f"{field}: {raw!r} is not a number ({term}, {paths[0]})")
            return Decimal(0)

    def unit_price(self, field: str, price: str, base: str) -> Decimal:
        """The net price of one unit of line `field`: the price (BT-146) at path `price` over its
        base quantity (BT-149) at path `base`, one when absent; the price itself when zero."""
        amount = self.decimal(f"{field}.unit_price", "BT-146", price)
        per = self.decimal(f"{field}.unit_price", "BT-149", base, default=Decimal(1))
        return amount / per if per else amount

    def total(self, field: str, path: str) -> Decimal:
        """The sum of every element at path (zero when there is none)."""
        total = Decimal(0)
        for element in self.all(path):
            try:
                total += Decimal((element.text or "").strip())
            except InvalidOperation:
                self.problems.append(f"{field}: {element.text!r} is not a number ({path})")
        return total

    def date(self, field: str, term: str, *paths: str, required: bool = True) -> dt.date | None:
        raw = self.text(*paths)
        if raw is None:
            if required:
                self.problems.append(f"{field}: missing ({term}, {paths[0]})")
            return None
        for layout in ("%Y-%m-%d", "%Y%m%d"):
            try:
                return dt.datetime.strptime(raw, layout).date()
            except ValueError:
                continue
        self.problems.append(f"{field}: {raw!r} is not a date ({term}, {paths[0]})")
        return None


def build_invoice(
    values: Mapping[str, object], problems: list[str]
) -> tuple[Invoice | None, list[str]]:
    """The Invoice from read values, or None with a problem per field that does not fit."""
    if problems:
        return None, problems
    try:
        return Invoice.model_validate(values), []
    except ValidationError as exc:
        return None, [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (value {e.get('input')!r})"
            for e in exc.errors()
        ]
