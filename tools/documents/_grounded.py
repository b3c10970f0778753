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

from decimal import Decimal

from pydantic import ValidationError

from agent_ops.errors import first_problem
from tools.documents._amounts import document_style, numbers_in
from tools.documents._header_fields import find_currency, read_labels
from tools.documents._hints import Hints
from tools.documents._invoice import Invoice, InvoiceLine
from tools.documents._labels import title_kind
from tools.documents._reading import DERIVED, Reading, State
from tools.documents._stated_dates import stated_dates
from tools.documents._table import read_lines, table_headers
from tools.documents._vendor import find_order, identify_vendor
from tools.documents._words import Words

__all__ = ["Reading", "read_grounded"]


def read_grounded(words: Words, hints: Hints | None) -> Reading:
    """Read an invoice from a document's words; never fills a value it did not find."""
    hints = hints or Hints()
    numbers = [n for cell in words.cells() for n in numbers_in(cell.text)]
    state = State(words, hints, document_style(numbers))
    kind = _kind(words)
    if kind is not None:
        return Reading(
            None,
            {},
            [f"document: {kind[0]} (title {kind[1]!r}), not an invoice: nothing to pay"],
            [],
            final=True,
        )
    header_lines = table_headers(words)
    supplier = identify_vendor(state)
    read_labels(state, header_lines)
    order_lines = find_order(state, supplier)
    find_currency(state)
    read_lines(state, header_lines, order_lines)
    first_row = state.values.get("_first_row", min(header_lines, default=None))
    stated_dates(state, first_row)
    _derived(state)
    return _finish(state)


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


# -- totals the document implies, and the invoice ----------------------------------------------


def _derived(state: State) -> None:
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


def _finish(state: State) -> Reading:
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
        problems.append(first_problem(exc, top=""))
        return Reading(None, evidence, problems, state.notes)
    return Reading(invoice, evidence, problems, state.notes)
