"""Tryton's own draft supplier invoices for purchases, and fitting a vendor's invoice to them.

With the invoice method `order` Tryton drafts a supplier invoice for a purchase's lines when the
purchase is processed; with `fulfillment` (`shipment` before Tryton 7.8) it drafts one for what
each receipt brings in. Such a draft waits for the vendor's invoice: no vendor invoice number, no
idempotency key of ours (`_records.waiting`). Booking a vendor's invoice fits these drafts
instead of making a second invoice beside them:

- a waiting draft whose every line the vendor bills becomes the vendor's invoice (the one with
  the most lines, if several): its header takes the vendor's number, date and description, its
  lines the billed quantities, prices and texts;
- otherwise a new invoice is made and the billed draft lines are moved onto it (One2Many `add`,
  in the same transaction), so the drafts keep the lines the vendor did not bill;
- a billed purchase line on no waiting draft gets a new line, as with the `manual` method.

What the vendor bills less than drafted, and any other waiting draft line of a billed purchase
line, is left to Tryton: its purchase processing, run when an invoice of the purchase is posted
or loses lines, drafts again what remains to be invoiced (ordered, or received, less what is on
invoices). `settle` deletes those other lines, and the drafts left empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agent_ops.errors import ConnectorRejected
from tools.tryton import _records as records
from tools.tryton._client import TrytonClient

PURCHASE_LINE = "purchase.line"


@dataclass(frozen=True)
class DraftLine:
    id: int
    invoice: int
    purchase_line: int | None  # the line's origin, when it is a purchase line
    description: str | None


@dataclass(frozen=True)
class Billed:
    """One line of the vendor's invoice, billing a purchase line."""

    purchase_line: int
    values: dict[str, Any]  # quantity, unit price and text, as the invoice line takes them


@dataclass(frozen=True)
class FitPlan:
    target: int | None  # the waiting draft fitted in place; None: a new invoice
    move: tuple[int, ...] = ()  # draft lines moved onto the target from other drafts
    write: tuple[tuple[int, dict[str, Any]], ...] = ()  # draft lines set to what is billed
    delete: tuple[int, ...] = ()  # the target's own lines the vendor did not bill again
    create: tuple[Billed, ...] = ()  # billed lines on no waiting draft
    sources: tuple[int, ...] = ()  # other drafts that lose lines to the target
    fitted: tuple[int, ...] = ()  # Tryton's drafts fitted: the target first if it was one

    def line_actions(self) -> list[list[Any]]:
        """The One2Many actions on the target's lines, except `create` (built by the caller)."""
        actions: list[list[Any]] = []
        if self.move:
            actions.append(["add", list(self.move)])
        if self.write:
            actions.append(
                ["write", *[part for line, values in self.write for part in ([line], values)]]
            )
        if self.delete:
            actions.append(["delete", list(self.delete)])
        return actions


def _origin(reference: str | None) -> int | None:
    name, _, record_id = (reference or "").partition(",")
    return int(record_id) if name == PURCHASE_LINE and record_id.lstrip("-").isdigit() else None


async def waiting_drafts(
    client: TrytonClient, purchase_lines: Iterable[int], *, also: Iterable[int] = ()
) -> dict[int, list[DraftLine]]:
    """Every line of the waiting drafts that hold a line of `purchase_lines`, by draft id; the
    drafts `also` names are included (empty ones too) when they still wait."""
    origins = [f"{PURCHASE_LINE},{line}" for line in sorted(set(purchase_lines))]
    found: set[int] = set()
    if origins:
        rows = await client.search(
            "account.invoice.line",
            [
                ("origin", "in", origins),
                ("invoice.type", "=", "in"),
                ("invoice.state", "=", "draft"),
            ],
            ("invoice.state", "invoice.reference", "invoice.comment"),
        )
        found = {row["invoice"]["id"] for row in rows if records.waiting(row["invoice"])}
    extra = set(also) - found
    if extra:
        rows = await client.search(
            "account.invoice",
            [("id", "in", sorted(extra)), ("type", "=", "in"), ("state", "=", "draft")],
            ("state", "reference", "comment"),
        )
        found |= {row["id"] for row in rows if records.waiting(row)}
    drafts: dict[int, list[DraftLine]] = {draft: [] for draft in found}
    if not found:
        return drafts
    rows = await client.search(
        "account.invoice.line",
        [("invoice", "in", sorted(found))],
        ("invoice", "origin", "description"),
        order=[("invoice", "ASC"), ("sequence", "ASC"), ("id", "ASC")],
    )
    for row in rows:
        invoice = row["invoice"] if isinstance(row["invoice"], int) else row["invoice"]["id"]
        if invoice not in drafts:
            # The chaos test's `KeyError: 60`/`85`: Tryton finds the rows, then reads them, and
            # on its SQLite backend the two are not one snapshot (each SELECT stands alone), so
            # a line that a concurrent booking moved meanwhile comes back on its new invoice.
            # It is no longer a line of a waiting draft; the caller's next look sees it there.
            continue
        drafts[invoice].append(
            DraftLine(row["id"], invoice, _origin(row.get("origin")), row.get("description"))
        )
    return drafts


def plan_fit(
    billed: Sequence[Billed],
    drafts: dict[int, list[DraftLine]],
    *,
    target: tuple[int, list[DraftLine]] | None = None,
) -> FitPlan:
    """How the vendor's `billed` lines are booked onto the waiting `drafts`: onto `target` (an
    invoice of ours, with its lines) when given, else onto the draft the plan chooses."""
    wanted = {line.purchase_line for line in billed}
    lines_of = dict(drafts)
    fitted_in_place = target is None
    if target is None:
        whole = [
            draft
            for draft, lines in drafts.items()
            if lines and all(line.purchase_line in wanted for line in lines)
        ]
        chosen = max(whole, key=lambda draft: (len(drafts[draft]), -draft)) if whole else None
    else:
        chosen, lines_of[target[0]] = target
    # Each billed line takes the first free line of its purchase line, the target's own first.
    order = sorted(lines_of, key=lambda draft: (draft != chosen, draft))
    free = {
        draft: [line for line in lines_of[draft] if line.purchase_line is not None]
        for draft in order
    }
    move: list[int] = []
    write: list[tuple[int, dict[str, Any]]] = []
    create: list[Billed] = []
    sources: list[int] = []
    for line in billed:
        taken = None
        for draft in order:
            taken = next((d for d in free[draft] if d.purchase_line == line.purchase_line), None)
            if taken is not None:
                free[draft].remove(taken)
                break
        if taken is None:
            create.append(line)
            continue
        write.append((taken.id, line.values))
        if taken.invoice != chosen:
            move.append(taken.id)
            if taken.invoice not in sources:
                sources.append(taken.invoice)
    # What is left on the target bills nothing the vendor billed (or a purchase line twice
    # over): it goes, and Tryton drafts again what remains to be invoiced.
    left = free[chosen] if chosen is not None else []
    delete = [
        line.id
        for line in (lines_of[chosen] if chosen is not None else [])
        if line in left or line.purchase_line is None
    ]
    fitted = ([chosen] if fitted_in_place and chosen is not None else []) + sources
    return FitPlan(
        target=chosen,
        move=tuple(move),
        write=tuple(write),
        delete=tuple(delete),
        create=tuple(create),
        sources=tuple(sources),
        fitted=tuple(fitted),
    )


async def settle(
    client: TrytonClient, booked: int, purchase_lines: Iterable[int], touched: Iterable[int] = ()
) -> None:
    """Leave no waiting draft line for a purchase line the vendor's invoice `booked` bills: they
    are deleted (Tryton drafts again what remains to be invoiced), drafts left empty with them;
    a draft that lost lines to `booked` (`touched`) has its taxes computed again."""
    billed = set(purchase_lines)
    drafts = await waiting_drafts(client, billed, also=touched)
    drafts.pop(booked, None)
    for draft, lines in sorted(drafts.items()):
        stale = [line.id for line in lines if line.purchase_line in billed]
        try:
            if len(stale) == len(lines):
                await client.delete("account.invoice", draft)
            else:
                # Deleting lines (or none) writes the draft, and a written draft invoice has
                # its taxes computed again by Tryton: the moved lines' taxes leave with them.
                await client.write("account.invoice", draft, {"lines": [["delete", stale]]})
        except ConnectorRejected:
            # A concurrent booking of the same key settling the same draft deleted it first
            # (Tryton answers 404, or an access error when it vanished mid-request).
            if await client.search("account.invoice", [("id", "=", draft)], ("id",)):
                raise
