"""Known text layouts: label templates that read an invoice's text when, and only when, it fits.

A layout names the labels of each field ("Invoice No:", "Rechnungsnummer:"), the header of its
lines table, how a table row reads, and how it writes dates and amounts. It refuses, with the
reason, when a required label is missing or repeated with two values, when a table row does not
parse, or when a value does not; it never fills a field from a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from agent_ops.errors import first_problem
from tools.documents._invoice import Invoice, InvoiceLine
from tools.documents._text import AMOUNT, CURRENCIES, DATE, parse_amount, parse_date

_NUMBER = rf"(?:{AMOUNT})"
SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "Fr.": "CHF"}
_CODE = re.compile(r"\b[A-Z]{3}\b")


class Refused(Exception):
    """The text does not fit the layout; the message says where."""


@dataclass(frozen=True)
class Layout:
    name: str
    labels: Mapping[str, str]  # Invoice field -> regex of its label (alternatives with |)
    table_header: str  # regex matching the header row of the lines table
    row: str  # regex of a table row, named groups description, quantity, unit_price, amount
    day_first: bool = True
    optional: frozenset[str] = field(
        default=frozenset({"vendor_tax_id", "due_date", "po_number", "currency"})
    )

    def read(self, text: str) -> Invoice:
        """Read the invoice or raise Refused naming what does not fit."""
        values: dict[str, object] = {}
        lines = [line.rstrip() for line in text.splitlines()]
        for name, label in self.labels.items():
            raw = self._labelled(lines, name, label)
            if raw is None:
                if name not in self.optional:
                    raise Refused(f"no {name} label ({label})")
                continue
            values[name] = self._value(name, raw)
        if "vendor_name" not in self.labels:
            values["vendor_name"] = next((line.strip() for line in lines if line.strip()), "")
        if "currency" not in values:
            values["currency"] = self._currency(text)
        values["lines"] = self._table(lines)
        try:
            return Invoice.model_validate(values)
        except ValidationError as exc:
            raise Refused(first_problem(exc, top="")) from None

    def _labelled(self, lines: list[str], name: str, label: str) -> str | None:
        pattern = re.compile(
            rf"^\s*(?:{label})\s*(?::|(?<=#))\s*(?P<value>\S.*?)\s*$", re.IGNORECASE
        )
        found = {m.group("value") for line in lines if (m := pattern.match(line))}
        if len(found) > 1:
            raise Refused(f"{name} label appears with different values: {sorted(found)}")
        return found.pop() if found else None

    def _value(self, name: str, raw: str) -> object:
        value: object
        if name in ("issue_date", "due_date"):
            match = re.fullmatch(DATE, raw, re.IGNORECASE)
            value = parse_date(raw, day_first=self.day_first) if match else None
        elif name in ("subtotal", "tax", "total", "allowances", "charges", "prepaid"):
            value = _amount(raw)
        elif name == "currency":
            value = raw.upper() if re.fullmatch(r"[A-Za-z]{3}", raw) else None
        else:
            value = raw
        if value is None:
            raise Refused(f"{name}: cannot read {raw!r}")
        return value

    def _currency(self, text: str) -> str:
        codes = set(_CODE.findall(text)) & CURRENCIES
        codes |= {code for symbol, code in SYMBOLS.items() if symbol in text}
        if len(codes) != 1:
            raise Refused(
                f"currency: {'no' if not codes else 'several'} currency marks {sorted(codes)}"
            )
        return codes.pop()

    def _table(self, lines: list[str]) -> list[InvoiceLine]:
        header = re.compile(self.table_header, re.IGNORECASE)
        start = next((i for i, line in enumerate(lines) if header.search(line)), None)
        if start is None:
            raise Refused(f"no lines table (header {self.table_header})")
        row = re.compile(self.row)
        end_label = re.compile(rf"^\s*(?:{self.labels['subtotal']})\b", re.IGNORECASE)
        items: list[InvoiceLine] = []
        for number, line in enumerate(lines[start + 1 :], start=start + 2):
            if end_label.match(line):
                break
            if not line.strip() or re.fullmatch(r"[\s\-=_|]+", line):
                continue
            m = row.fullmatch(line.strip())
            if m is None:
                raise Refused(f"line {number} of the text is not a table row: {line.strip()!r}")
            parts = m.groupdict()
            numbers = {k: _amount(parts[k]) for k in ("quantity", "unit_price", "amount")}
            if None in numbers.values():
                raise Refused(f"line {number}: cannot read its numbers: {line.strip()!r}")
            items.append(
                InvoiceLine(
                    description=parts["description"].strip(),
                    product_code=parts.get("code"),
                    **numbers,  # type: ignore[arg-type]
                )
            )
        else:
            raise Refused("the lines table has no end (no subtotal label after it)")
        if not items:
            raise Refused("the lines table is empty")
        return items


def _amount(raw: str) -> Decimal | None:
    """An amount with its currency mark, if any, around it: `EUR 1,234.56`, `1.234,56 €`."""
    stripped = raw.strip()
    for symbol in SYMBOLS:
        stripped = stripped.replace(symbol, "")
    stripped = re.sub(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$", "", stripped.strip())
    if not re.fullmatch(_NUMBER, stripped.strip()):
        return None
    return parse_amount(stripped)


# A table row: item code, description, quantity, unit price, amount.
_CODE_FIRST_ROW = (
    rf"(?P<code>\S+)\s+(?P<description>.+?)\s+(?P<quantity>{_NUMBER})"
    rf"\s+(?P<unit_price>{_NUMBER})\s+(?P<amount>{_NUMBER})"
)
_TAX_RATE = r"(?:\s*\(?\s*[\d.,]+\s*%\s*\)?)?"
LABELLED = Layout(
    name="labelled-en",
    labels={
        "vendor_tax_id": r"VAT ID|VAT No\.?|Tax ID|VAT Reg(?:istration)?\.? No\.?",
        "invoice_number": r"Invoice (?:No\.?|Number|#)",
        "issue_date": r"(?:Invoice )?Date",
        "due_date": r"Due Date|Payment Due",
        "po_number": r"PO(?: Number| No\.?)?|Purchase Order(?: No\.?)?|Your Order",
        "currency": r"Currency",
        "subtotal": r"Sub-?total|Net Total",
        "tax": rf"(?:Tax|VAT|Sales Tax){_TAX_RATE}",
        "total": r"Total(?: Due)?|Amount Due|Grand Total",
    },
    table_header=r"^\s*(?:Item|Code)\s+Description\s+Qty\s+Unit Price\s+Amount\s*$",
    row=_CODE_FIRST_ROW,
    day_first=False,
)
RECHNUNG = Layout(
    name="rechnung-de",
    labels={
        "vendor_tax_id": r"USt-IdNr\.?|USt\.-ID",
        "invoice_number": r"Rechnungsnummer|Rechnung Nr\.?",
        "issue_date": r"Rechnungsdatum|Datum",
        "due_date": r"Fällig am|Zahlbar bis|Fälligkeitsdatum",
        "po_number": r"Bestellnummer|Ihre Bestellung",
        "currency": r"Währung",
        "subtotal": r"Nettobetrag|Summe netto|Zwischensumme",
        "tax": rf"(?:MwSt\.?|USt\.?|Umsatzsteuer){_TAX_RATE}",
        "total": r"Gesamtbetrag|Rechnungsbetrag|Summe brutto",
    },
    table_header=r"^\s*(?:Art\.?-?Nr\.?|Artikel)\s+Bezeichnung\s+Menge\s+Einzelpreis\s+(?:Betrag|Gesamt)\s*$",
    row=_CODE_FIRST_ROW,
    day_first=True,
)
LAYOUTS: list[Layout] = [LABELLED, RECHNUNG]


def register_layout(layout: Layout) -> None:
    """Add a layout; later ones are tried after the shipped ones."""
    LAYOUTS.append(layout)


def read_layouts(text: str) -> tuple[Layout, Invoice] | tuple[None, list[str]]:
    """The first layout that reads the text, or the reason each refused."""
    reasons = []
    for layout in LAYOUTS:
        try:
            return layout, layout.read(text)
        except Refused as exc:
            reasons.append(f"layout {layout.name} refused: {exc}")
    return None, reasons
