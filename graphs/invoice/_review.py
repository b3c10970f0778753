"""The pause for a person, in the human-in-the-loop format agent-inbox understands.

The interrupt value is a list holding one request: `action_request` (the invoice as it would be
booked), `config` (which answers are allowed) and a markdown `description` of the findings.
Answers, as agent-inbox sends them (a bare dict is accepted too):

- `{"type": "accept"}`: approve as is (not offered when nothing usable was read);
- `{"type": "edit", "args": {"action": ..., "args": {fields}}}`: correct fields, then re-check;
- `{"type": "ignore"}`: reject;
- `{"type": "response", "args": "text"}`: reject, with the text as the reason sent to the vendor.

An optional `"by"` names the reviewer in the decision log. The `headline` (the mail's subject, the
pause's first line) shows only values that were read and passed the checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from agent_ops.errors import validation_text
from tools.documents import Invoice

ACTION = "approve_invoice"
ANSWERS = ("accept", "edit", "ignore", "response")


@dataclass(frozen=True)
class Answer:
    kind: Literal["accept", "edit", "ignore", "response"]
    by: str
    invoice: dict[str, Any] | None = None  # the edited invoice, validated
    edited: tuple[str, ...] = ()
    text: str | None = None


NOTHING_READ = "nothing usable was read from the document: edit the fields or reject it"


def request(
    invoice: dict[str, Any] | None,
    findings: list[dict[str, Any]],
    headline: str,
    *,
    accept_refused: str | None,
    last_problem: str | None = None,
    sender: str | None = None,
) -> list[dict[str, Any]]:
    """The interrupt value for an invoice and what was found wrong with it; accept is offered
    unless `accept_refused` says why not, and `last_problem` names a previous unusable answer.
    `sender` is who sent it (`Name <address>` of the mail), shown as such."""
    lines = [f"**Your last answer was not used: {last_problem}.**", ""] if last_problem else []
    lines += [f"**{headline}**", ""]
    if sender:
        lines += [f"Sent by: {sender}", ""]
    if accept_refused:
        lines += [f"Accept is not offered: {accept_refused}.", ""]
    if findings:
        lines.append("Found:")
        lines += [f"- `{f['code']}` ({f['field']}): {f['message']}" for f in findings]
    else:
        lines.append("Nothing was found wrong; a person must still approve it.")
    lines += [
        "",
        "Proposed: book the supplier invoice, post it and pay it on its due date.",
        "Accept to approve, edit the fields to correct them (they are checked again), "
        "ignore to reject, or respond with a reason to reject.",
    ]
    return [
        {
            "action_request": {"action": ACTION, "args": invoice or {}},
            "config": {
                "allow_accept": accept_refused is None,
                "allow_edit": True,
                "allow_ignore": True,
                "allow_respond": True,
            },
            "description": "\n".join(lines),
        }
    ]


def request_mail(
    pause: dict[str, Any], *, thread_id: str, assistant_id: str, server_url: str
) -> str:
    """The review request as a plain-text mail: the findings, and how to answer through the
    API (the same answers agent-inbox sends)."""
    offered = [kind for kind in ANSWERS if pause["config"][f"allow_{_ALLOW[kind]}"]]
    accept = {"type": "accept", "by": "you@example.com"}
    resume = json.dumps({"assistant_id": assistant_id, "command": {"resume": accept}})
    return "\n".join(
        [
            pause["description"].replace("**", ""),
            "",
            f"Answers offered: {', '.join(offered)}.",
            f"The run waits on thread {thread_id}. To answer through the API, e.g. accept:",
            "",
            f"  curl -X POST {server_url}/threads/{thread_id}/runs/wait \\",
            f"    -H 'Content-Type: application/json' -d '{resume}'",
            "",
            'Edit: {"type": "edit", "args": {"<field>": <value>}}; reject: {"type": "ignore"};',
            'reject with a reason mailed to the vendor: {"type": "response", "args": "<reason>"}.',
        ]
    )


_HEADLINE_FIELDS = {
    "invoice_number": "invoice number",
    "vendor_name": "vendor",
    "currency": "currency",
    "total": "total",
}
_CHECKED = ("arithmetic", "extraction")  # findings on the values read (confidence: below)


def _doubts(state: Mapping[str, Any], min_confidence: float) -> dict[str, str]:
    """The headline's fields that were not read, or were read and failed a check, with why.

    The extraction's `confidence` has a score per field it read (absent: not read; an empty map
    comes from a person or the API, who answer for every field); its `problems` and the check's
    findings about the reading name their field first (`total: 75.00 but ...`)."""
    extraction = state.get("extraction") or {}
    confidence: dict[str, float] = extraction.get("confidence") or {}
    failed = {
        re.split(r"[.\[:]", str(problem), maxsplit=1)[0].strip()
        for problem in extraction.get("problems") or []
    }
    for finding in (state.get("match") or {}).get("findings") or []:
        if finding.get("code") in _CHECKED:
            failed |= {re.split(r"[.\[]", f, maxsplit=1)[0] for f in finding["field"].split(",")}
    doubts: dict[str, str] = {}
    for name in _HEADLINE_FIELDS:
        if name in failed:
            doubts[name] = "fails a check"
        elif confidence and name not in confidence:
            doubts[name] = "not found"
        elif confidence and confidence[name] < min_confidence:
            doubts[name] = f"confidence {confidence[name]:.2f}"
    return doubts


def sender_label(state: Mapping[str, Any]) -> str | None:
    sender, name = state.get("sender"), state.get("sender_name")
    if sender and name:
        return f"{name} <{sender}>"
    return sender or name or None


def headline(state: Mapping[str, Any], min_confidence: float) -> str:
    """One line for the reviewer: only values that were read and passed the checks, then what
    could not be read (its value is in the findings, never here as if it were read)."""
    invoice = state.get("invoice")
    sender = sender_label(state)
    if invoice is None:
        return "A document arrived but no invoice could be read from it" + (
            f" (sent by {sender})" if sender else ""
        )
    doubts = _doubts(state, min_confidence)
    text = "Invoice"
    if "invoice_number" not in doubts:
        text += f" {invoice['invoice_number']}"
    if "vendor_name" not in doubts:
        text += f" from {invoice['vendor_name']}"
    elif sender:
        text += f" sent by {sender}"
    if "total" not in doubts and "currency" not in doubts:
        text += f": {invoice['currency']} {invoice['total']}"
    if doubts:
        text += "; could not be read: " + ", ".join(
            f"{_HEADLINE_FIELDS[name]} ({why})" for name, why in doubts.items()
        )
    return text


_ALLOW = {"accept": "accept", "edit": "edit", "ignore": "ignore", "response": "respond"}


def _edited_fields(raw: Any) -> dict[str, Any] | None:
    args = raw.get("args") if isinstance(raw, dict) else None
    if isinstance(args, dict) and isinstance(args.get("args"), dict):
        return dict(args["args"])  # agent-inbox: {"action": ..., "args": {...}}
    return dict(args) if isinstance(args, dict) else None


def parse(raw: Any, current: dict[str, Any] | None, *, accept_refused: str | None) -> Answer | str:
    """The reviewer's answer, or a sentence naming what is wrong with it (an accept that
    `accept_refused` rules out is wrong for that reason)."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ANSWERS:
        return f"an answer is {{'type': one of {', '.join(ANSWERS)}, 'args': ...}}, got {raw!r}"
    assert isinstance(raw, dict)
    by = str(raw.get("by") or "reviewer")
    if kind == "accept":
        return accept_refused or Answer("accept", by)
    if kind == "edit":
        fields = _edited_fields(raw)
        if not fields:
            return "an edit carries the corrected fields in args"
        merged = {**(current or {}), **fields}
        try:
            invoice = Invoice.model_validate(merged)
        except ValidationError as exc:
            return f"the edited invoice is invalid: {validation_text(exc)}"
        changed = tuple(sorted(k for k in fields if (current or {}).get(k) != fields[k]))
        return Answer(
            "edit", by, invoice=invoice.model_dump(mode="json"), edited=changed or tuple(fields)
        )
    text = raw.get("args")
    reason = text.strip() if isinstance(text, str) and text.strip() else None
    if kind == "response" and reason is None:
        return "a response carries the reason as text in args"
    return Answer(kind, by, text=reason)
