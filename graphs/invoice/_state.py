"""The invoice workflow's state: what came in, what was read, what was checked, what was done.

Everything is JSON (the console and the API show it as is); `decisions` grows by one entry per
step that decided something, with its reason and who decided (rules, a model, or a person).
"""

from __future__ import annotations

import datetime as dt
import operator
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig

Status = Literal[
    "received", "needs_review", "approved", "rejected", "duplicate", "booked", "posted", "paid"
]


class Decision(TypedDict):
    step: str
    outcome: str
    reason: str
    by: str
    at: str


def decision(step: str, outcome: str, reason: str, by: str) -> Decision:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return Decision(step=step, outcome=outcome, reason=reason, by=by, at=now)


class InvoiceState(TypedDict, total=False):
    # input: one of these three
    intake: dict[str, Any]  # from a mail or folder trigger: sender, subject, body, documents
    document: dict[str, Any]  # a tools.documents.Document
    invoice: dict[str, Any]  # a tools.documents.Invoice, read already (or edited by a person)
    sender: str  # whom to tell the outcome: the bare address of the intake's From by default
    sender_name: str  # the From's display name (RFC 2047 decoded), shown to the reviewer
    reply_to: list[str]  # the intake's Reply-To addresses: told the outcome instead of sender
    # progress
    policy: dict[str, Any]  # the Policy in force, fixed when the invoice was received
    extraction: dict[str, Any]  # method, source, confidence, problems
    match: dict[str, Any]  # graphs.invoice._match.MatchReport
    claim: dict[str, Any] | None  # supplier_id and number key this run claims (see _claims)
    status: Status
    reason: str  # why the workflow ended where it did
    erp: dict[str, Any]  # invoice_id, invoice_number, payment_id, payment_date, amount
    ledger: dict[str, Any]  # the supplier's open balance after payment
    notifications: Annotated[list[dict[str, Any]], operator.add]
    decisions: Annotated[list[Decision], operator.add]


def thread_of(config: RunnableConfig) -> str:
    """The thread the run is on (part of every key the workflow writes with)."""
    return str((config.get("configurable") or {}).get("thread_id", ""))
