"""The checks every extraction goes through, whatever read it, and the confidence they leave.

Checks: required fields present, arithmetic (each line, lines against subtotal, subtotal with
allowances, charges and tax against total, to a tolerance), dates sane, currency an ISO 4217 code;
for a model's reading also grounding (each value must be written in the document). Confidence
starts from how the invoice was read (a schema-valid e-invoice high, a known layout medium, a
model lower) and drops for every field a check fails on. Every problem names its field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from tools.documents._invoice import Extraction, Invoice, Method
from tools.documents._text import CURRENCIES, amounts_in, dates_in

BASE_CONFIDENCE: dict[Method, float] = {
    "ubl": 0.99,
    "cii": 0.99,
    "layout": 0.9,
    "grounded": 0.9,  # each field's own evidence says more (see validate)
    "model": 0.5,
    "human": 1.0,
    "api": 1.0,  # given whole by the caller, who answers for it; its arithmetic is still checked
    "none": 0.0,
}
GROUNDED = 0.35  # a model's value found written in the document: 0.5 -> 0.85
FAILED = 0.25  # factor applied to a field's confidence for each check it fails
REQUIRED = ("vendor_name", "invoice_number", "issue_date", "currency", "subtotal", "tax", "total")
DEFAULT_MIN_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Checks:
    """What counts as consistent; the defaults suit invoices in cents."""

    tolerance: Decimal = Decimal("0.01")
    earliest: dt.date = dt.date(2000, 1, 1)
    max_days_ahead: int = 31  # an issue date further in the future than this is suspect
    max_payment_days: int = 366  # due date at most this long after the issue date
    today: dt.date | None = None  # None: the current date


@dataclass
class _Findings:
    problems: list[str] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")
        top = re.split(r"[.\[]", where, maxsplit=1)[0]
        self.failed[top] = self.failed.get(top, 0) + 1


def validate(
    extraction: Extraction, *, checks: Checks | None = None, text: str | None = None
) -> Extraction:
    """Run the checks; return the extraction with its problems and per-field confidence.

    `text` is the document's text; when given, a model's values are checked against it.
    """
    checks = checks or Checks()
    invoice = extraction.invoice
    if invoice is None:
        return extraction.model_copy(update={"confidence": {}})
    found = _Findings()
    _required(invoice, found)
    _arithmetic(invoice, checks.tolerance, found)
    _dates(invoice, checks, found)
    if invoice.currency not in CURRENCIES:
        found.fail("currency", f"{invoice.currency!r} is not an ISO 4217 currency code")
    grounded: set[str] = set()
    if extraction.method == "model" and text is not None:
        grounded = _grounding(invoice, text, found)
    confidence = {}
    base = BASE_CONFIDENCE[extraction.method]
    for name in Invoice.model_fields:
        value = getattr(invoice, name)
        if value is None or (name == "lines" and not value):
            continue
        score = min(1.0, base + (GROUNDED if name in grounded else 0.0))
        if name in extraction.evidence:
            score = extraction.evidence[name].confidence
        elif name == "lines" and extraction.evidence:
            lines = [e.confidence for k, e in extraction.evidence.items() if k.startswith("lines[")]
            score = min(lines, default=0.0)
        confidence[name] = round(score * FAILED ** found.failed.get(name, 0), 4)
    return extraction.model_copy(
        update={"confidence": confidence, "problems": [*extraction.problems, *found.problems]}
    )


def needs_review(extraction: Extraction, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> bool:
    """Whether a person must look: nothing read, any problem, or a required field below the bar."""
    if extraction.invoice is None or extraction.problems:
        return True
    return any(extraction.confidence.get(name, 0.0) < min_confidence for name in REQUIRED)


def _required(invoice: Invoice, found: _Findings) -> None:
    for name in ("vendor_name", "invoice_number"):
        if not getattr(invoice, name).strip():
            found.fail(name, "is empty")
    if invoice.total <= 0:
        found.fail("total", f"{invoice.total} is not a positive amount")
    for name in ("subtotal", "tax", "allowances", "charges", "prepaid"):
        if getattr(invoice, name) < 0:
            found.fail(name, f"{getattr(invoice, name)} is negative")


@dataclass(frozen=True)
class SumGap:
    """A sum on an invoice that does not add up: what the invoice states, what its parts make."""

    field: Literal["amount", "subtotal", "total"]  # `amount` is line `line`'s (from 0)
    stated: Decimal
    expected: Decimal
    line: int = 0


def sum_gaps(invoice: Invoice, tolerance: Decimal) -> list[SumGap]:
    """Each line, the lines against the subtotal, and subtotal with allowances, charges and tax
    against the total: the sums off by more than `tolerance`."""
    gaps = []
    for index, line in enumerate(invoice.lines):
        expected = line.quantity * line.unit_price - line.allowances + line.charges
        if abs(expected - line.amount) > tolerance:
            gaps.append(SumGap("amount", line.amount, expected, index))
    if invoice.lines:
        lines = sum((line.amount for line in invoice.lines), Decimal(0))
        if abs(lines - invoice.subtotal) > tolerance:
            gaps.append(SumGap("subtotal", invoice.subtotal, lines))
    expected = invoice.subtotal - invoice.allowances + invoice.charges + invoice.tax
    if abs(expected - invoice.total) > tolerance:
        gaps.append(SumGap("total", invoice.total, expected))
    return gaps


def _arithmetic(invoice: Invoice, tolerance: Decimal, found: _Findings) -> None:
    for gap in sum_gaps(invoice, tolerance):
        if gap.field == "amount":
            line = invoice.lines[gap.line]
            found.fail(
                f"lines[{gap.line + 1}].amount",
                f"{line.amount} but quantity {line.quantity} x unit price {line.unit_price}"
                f"{_adjusted(line.allowances, line.charges)} = {_cents(gap.expected)}",
            )
        elif gap.field == "subtotal":
            found.fail("subtotal", f"{invoice.subtotal} but the lines add up to {gap.expected}")
        else:
            found.fail(
                "total",
                f"{invoice.total} but subtotal {invoice.subtotal}"
                f"{_adjusted(invoice.allowances, invoice.charges)} + tax {invoice.tax} = "
                f"{gap.expected}",
            )
    if invoice.prepaid > invoice.total + tolerance:
        found.fail("prepaid", f"{invoice.prepaid} is more than the total {invoice.total}")


def _adjusted(allowances: Decimal, charges: Decimal) -> str:
    return (f" - allowances {allowances}" if allowances else "") + (
        f" + charges {charges}" if charges else ""
    )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _dates(invoice: Invoice, checks: Checks, found: _Findings) -> None:
    today = checks.today or dt.date.today()
    latest = today + dt.timedelta(days=checks.max_days_ahead)
    if not checks.earliest <= invoice.issue_date <= latest:
        found.fail("issue_date", f"{invoice.issue_date} is outside {checks.earliest} .. {latest}")
    if invoice.due_date is not None:
        limit = invoice.issue_date + dt.timedelta(days=checks.max_payment_days)
        if not invoice.issue_date <= invoice.due_date <= limit:
            found.fail(
                "due_date",
                f"{invoice.due_date} is not between the issue date {invoice.issue_date} and {limit}",
            )


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _grounding(invoice: Invoice, text: str, found: _Findings) -> set[str]:
    """Fields whose value is written in the text; a value that is not there is a problem."""
    words, amounts, dates = _squash(text), amounts_in(text), dates_in(text)
    # Where each field's value must be found: texts among the words, dates among the dates,
    # money among the amounts (a zero adjustment need not be written at all).
    places: list[tuple[tuple[str, ...], Callable[[Any], bool]]] = [
        (
            ("vendor_name", "vendor_tax_id", "invoice_number", "po_number", "currency"),
            lambda value: _squash(value) in words,
        ),
        (("issue_date", "due_date"), lambda value: value in dates),
        (("subtotal", "tax", "total"), lambda value: value in amounts),
        (("allowances", "charges", "prepaid"), lambda value: value == 0 or value in amounts),
    ]
    grounded: set[str] = set()
    for names, written in places:
        for name in names:
            value = getattr(invoice, name)
            if value is None:  # not on this invoice: nothing to find
                continue
            if written(value):
                grounded.add(name)
            else:
                shown = repr(value) if isinstance(value, str) else str(value)
                found.fail(name, f"{shown} is not written in the document")
    unwritten = [
        f"lines[{n}]"
        for n, line in enumerate(invoice.lines, start=1)
        if not {line.quantity, line.unit_price, line.amount} <= amounts
        or _squash(line.description) not in words
    ]
    if unwritten:
        found.fail(unwritten[0], "its description or numbers are not written in the document")
    else:
        grounded.add("lines")
    return grounded
