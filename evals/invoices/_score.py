"""Scoring a case's final state against its truth, and the report per format.

A case is *fully correct* when it ended as expected (a clean invoice paid, a trap waiting) and
every field the workflow read equals what the document says. *Wrong values accepted* counts
every case that got past the checks (approved, booked, posted or paid) with a field that differs
from the document, or that was paid when it had to wait: the number that must be 0.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

from evals.invoices._cases import Case, Truth

ACCEPTED = ("approved", "booked", "posted", "paid")
WAITING = ("needs_review", "duplicate")
DESCRIPTION_SIMILARITY = 0.9  # descriptions are compared loosely: a scan's O/0 is not a misread


def _text(value: object) -> str:
    text = unicodedata.normalize("NFKC", str(value or ""))
    return re.sub(r"\s+", " ", text).strip().casefold()


def _compact(value: object) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def wrong_fields(truth: Truth, read: dict[str, Any] | None) -> list[str]:
    """The fields of `read` (an Invoice as JSON) that differ from `truth`; all when None.

    A field the document does not print (a tax id, a due date, a line's code) is not scored:
    a reader that fills it from the ERP has not misread anything."""
    if read is None:
        return ["invoice"]
    wrong = []
    names = {_text(truth.vendor_name), *(_text(a) for a in truth.vendor_aliases)}
    if _text(read.get("vendor_name")) not in names:
        wrong.append("vendor_name")
    if truth.vendor_tax_id and _compact(read.get("vendor_tax_id")) != _compact(truth.vendor_tax_id):
        wrong.append("vendor_tax_id")
    if _text(read.get("invoice_number")) != _text(truth.invoice_number):
        wrong.append("invoice_number")
    if _date(read.get("issue_date")) != truth.issue_date:
        wrong.append("issue_date")
    if truth.due_date and _date(read.get("due_date")) != truth.due_date:
        wrong.append("due_date")
    if read.get("currency") != truth.currency:
        wrong.append("currency")
    if _text(read.get("po_number")) != _text(truth.po_number):
        wrong.append("po_number")
    for name in ("subtotal", "allowances", "charges", "tax", "total", "prepaid"):
        if _decimal(read.get(name, 0)) != getattr(truth, name):
            wrong.append(name)
    lines = read.get("lines") or []
    if len(lines) != len(truth.lines):
        wrong.append("lines")
        return wrong
    for index, (got, want) in enumerate(zip(lines, truth.lines, strict=True)):
        for name in ("quantity", "unit_price", "amount", "allowances", "charges"):
            if _decimal(got.get(name, 0)) != getattr(want, name):
                wrong.append(f"lines[{index}].{name}")
        if want.product_code and _compact(got.get("product_code")) != _compact(want.product_code):
            wrong.append(f"lines[{index}].product_code")
        similarity = SequenceMatcher(
            None, _text(got.get("description")), _text(want.description)
        ).ratio()
        if similarity < DESCRIPTION_SIMILARITY:
            wrong.append(f"lines[{index}].description")
    return wrong


@dataclass(frozen=True)
class Result:
    """One case's outcome, as written to cases.jsonl."""

    id: str
    format: str
    kind: str
    expected: str
    codes: tuple[str, ...]
    seconds: float
    # What the run came to; the defaults are a run that came to nothing (it raised).
    status: str | None = None
    findings: tuple[str, ...] = ()
    wrong: tuple[str, ...] = ()  # fields read wrong (empty when all right, or nothing to compare)
    error: str | None = None
    extraction: str = ""  # method and source
    outcome_mails: int = 0  # mails the sender was sent about the outcome
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED

    @property
    def paid(self) -> bool:
        return self.status == "paid"

    @property
    def as_expected(self) -> bool:
        return self.paid if self.expected == "paid" else self.status in WAITING

    @property
    def caught(self) -> bool:
        """A trap waiting with one of the findings it must raise."""
        return self.status in WAITING and any(code in self.findings for code in self.codes)

    @property
    def fully_correct(self) -> bool:
        return self.error is None and self.as_expected and not self.wrong

    @property
    def review(self) -> bool:
        return self.status == "needs_review"

    @property
    def wrong_accepted(self) -> bool:
        return self.accepted and (bool(self.wrong) or self.expected != "paid")

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "format": self.format,
            "kind": self.kind,
            "expected": self.expected,
            "codes": list(self.codes),
            "status": self.status,
            "findings": list(self.findings),
            "wrong_fields": list(self.wrong),
            "fully_correct": self.fully_correct,
            "review": self.review,
            "wrong_accepted": self.wrong_accepted,
            "caught": self.caught if self.expected == "waits" else None,
            "error": self.error,
            "seconds": round(self.seconds, 2),
            "extraction": self.extraction,
            "outcome_mails": self.outcome_mails,
            "reason": self.reason,
        }


def result(case: Case, state: dict[str, Any], seconds: float, mails: int) -> Result:
    """Score the final state of `case`'s run."""
    match = state.get("match") or {}
    findings = tuple(dict.fromkeys(f.get("code", "") for f in match.get("findings") or []))
    read = state.get("invoice")
    wrong: list[str] = []
    if case.invoice and case.truth is not None:
        wrong = wrong_fields(case.truth, read)
    elif read is not None:
        wrong = ["invoice"]  # something was read as an invoice from a document that is none
    extraction = state.get("extraction") or {}
    reasons = [
        d.get("reason", "")
        for d in state.get("decisions") or []
        if d.get("step") in ("extract", "check", "book")
    ]
    return _of_case(
        case,
        seconds,
        status=state.get("status"),
        findings=findings,
        wrong=tuple(wrong),
        extraction=f"{extraction.get('method', '?')} ({extraction.get('source', '?')})",
        outcome_mails=mails,
        reason=" | ".join(reasons)[:600],
    )


def from_row(row: dict[str, Any]) -> Result:
    """A result read back from a cases.jsonl line (to report on a run cut short)."""
    return Result(
        id=row["id"],
        format=row["format"],
        kind=row["kind"],
        expected=row["expected"],
        codes=tuple(row["codes"]),
        status=row["status"],
        findings=tuple(row["findings"]),
        wrong=tuple(row["wrong_fields"]),
        error=row["error"],
        seconds=row["seconds"],
        extraction=row["extraction"],
        outcome_mails=row["outcome_mails"],
        reason=row["reason"],
    )


def failed(case: Case, error: BaseException, seconds: float) -> Result:
    """A case whose run raised: counted as an error, with its message."""
    return _of_case(case, seconds, error=f"{type(error).__name__}: {error}"[:600])


def _of_case(case: Case, seconds: float, **outcome: Any) -> Result:
    """`case`'s result: what the case is, with what its run came to."""
    return Result(
        id=case.id,
        format=case.format,
        kind=case.kind,
        expected=case.expected,
        codes=case.codes,
        seconds=seconds,
        **outcome,
    )


@dataclass
class Tally:
    cases: int = 0
    fully_correct: int = 0
    review: int = 0
    wrong_accepted: int = 0
    clean: int = 0
    clean_paid: int = 0
    traps: int = 0
    traps_caught: int = 0
    errors: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, r: Result) -> None:
        self.cases += 1
        self.fully_correct += r.fully_correct
        self.review += r.review
        self.wrong_accepted += r.wrong_accepted
        self.errors += r.error is not None
        self.seconds.append(r.seconds)
        if r.expected == "paid":
            self.clean += 1
            self.clean_paid += r.paid
        else:
            self.traps += 1
            self.traps_caught += r.caught

    def row(self) -> dict[str, Any]:
        rate = self.clean_paid / self.clean if self.clean else None
        return {
            "cases": self.cases,
            "fully_correct": self.fully_correct,
            "review": self.review,
            "wrong_accepted": self.wrong_accepted,
            "clean": self.clean,
            "clean_paid": self.clean_paid,
            "auto_approval_rate": round(rate, 3) if rate is not None else None,
            "traps": self.traps,
            "traps_caught": self.traps_caught,
            "errors": self.errors,
            "median_seconds": round(sorted(self.seconds)[len(self.seconds) // 2], 2)
            if self.seconds
            else None,
        }


def summarize(results: list[Result]) -> dict[str, dict[str, Any]]:
    """Counts per format, then `all`."""
    tallies: dict[str, Tally] = {}
    for r in results:
        tallies.setdefault(r.format, Tally()).add(r)
    total = Tally()
    for r in results:
        total.add(r)
    return {**{name: t.row() for name, t in tallies.items()}, "all": total.row()}


def markdown(summary: dict[str, dict[str, Any]]) -> str:
    """The summary as a Markdown table, one row per format and a last row for all."""
    head = (
        "| format | cases | fully correct | sent to review | wrong values accepted | "
        "clean paid without a person | traps caught (right finding) | errors |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for name, row in summary.items():
        rate = row["auto_approval_rate"]
        auto = f"{row['clean_paid']}/{row['clean']}" + (
            f" ({rate:.0%})" if rate is not None else ""
        )
        caught = f"{row['traps_caught']}/{row['traps']}"
        label = f"**{name}**" if name == "all" else name
        rows.append(
            f"| {label} | {row['cases']} | {row['fully_correct']} | {row['review']} | "
            f"{row['wrong_accepted']} | {auto} | {caught} | {row['errors']} |"
        )
    return head + "\n".join(rows) + "\n"
