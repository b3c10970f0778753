"""Reading and checking: receive the input, extract the invoice, match it, ask a person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_store
from langgraph.types import interrupt
from pydantic import ValidationError

from agent_ops.deps import deps_for
from agent_ops.errors import InvalidInput, validation_text
from graphs.invoice import _claims, _review
from graphs.invoice._env import erp
from graphs.invoice._hints import document_hints
from graphs.invoice._mail import send, unsent
from graphs.invoice._match import (
    Finding,
    MatchReport,
    PendingCopy,
    assess,
    copies,
    number_key,
    same_vendor,
)
from graphs.invoice._policy import Policy, policy_in, policy_of
from graphs.invoice._state import InvoiceState, decision, thread_of
from tools.documents import Invoice
from tools.mail import mailboxes
from tools.tryton import Invoice as ErpInvoice
from tools.tryton import PurchaseOrder, Supplier, TrytonERP

RECENT_INVOICES = 200  # the supplier's newest ERP invoices compared for renumbered copies

_PREFERENCE = ("xml", "pdf")  # structured e-invoices first, then PDFs, then anything else


def _pick_document(intake: dict[str, Any]) -> dict[str, Any] | None:
    documents = [d for d in intake.get("documents") or [] if isinstance(d, dict)]

    def rank(document: dict[str, Any]) -> int:
        kind = f"{document.get('media_type', '')} {document.get('filename', '')}".lower()
        return next((i for i, word in enumerate(_PREFERENCE) if word in kind), len(_PREFERENCE))

    if documents:
        return min(documents, key=rank)
    body = intake.get("body")
    if isinstance(body, str) and body.strip():
        return {"filename": "message.txt", "media_type": "text/plain", "text": body}
    return None


def _invalid(what: str, exc: ValidationError) -> InvalidInput:
    return InvalidInput(f"{what} is invalid: {validation_text(exc)}")


async def receive(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Take an invoice, a document or a trigger's intake; anything else is an error naming it.
    The run's policy is recorded here and holds for the invoice's life."""
    intake = state.get("intake")
    policy = policy_of(config).model_dump(mode="json")
    update: dict[str, Any] = {"status": "received", "policy": policy}
    if state.get("invoice") is not None:
        try:
            invoice = Invoice.model_validate(state["invoice"])
        except ValidationError as exc:
            raise _invalid("input `invoice`", exc) from exc
        update["invoice"] = invoice.model_dump(mode="json")
        update["extraction"] = {"method": "api", "source": "api", "confidence": {}, "problems": []}
        reason = "a structured invoice from the API"
    elif state.get("document") is not None:
        update["document"] = state["document"]
        reason = f"document {state['document'].get('filename', '?')!r} from the API"
    elif isinstance(intake, dict):
        document = _pick_document(intake)
        update["document"] = document
        source = f"{intake.get('kind', 'intake')} {intake.get('key', '')}".strip()
        if document is None:
            reason = f"{source}: no attachment and no text"
        else:
            reason = f"{source}: {document.get('filename')!r} of {len(intake.get('documents') or [])} attachment(s)"
    else:
        raise InvalidInput("give the workflow an `invoice`, a `document` or an `intake`")
    who, notes = _sender(state)
    update.update(who)
    if notes:
        reason += "; " + "; ".join(notes)
    return {**update, "decisions": [decision("receive", "received", reason, "rules")]}


def _sender(state: InvoiceState) -> tuple[dict[str, Any], list[str]]:
    """Whom to tell the outcome and whose name the reviewer reads: the given `sender`, else the
    intake's From (a payload taken in before addresses were parsed holds the raw header, so it
    is parsed here too); the intake's Reply-To goes with its From. Notes say what was unreadable."""
    intake: dict[str, Any] = state.get("intake") or {}
    given = state.get("sender")
    raw = given or intake.get("sender")
    if not raw:
        return {}, [str(p) for p in intake.get("address_problems") or []]
    found, notes = mailboxes(str(raw), header="From")
    update: dict[str, Any] = {}
    if found:
        update["sender"] = found[0].address
        name = state.get("sender_name") or (None if given else intake.get("sender_name"))
        if name or found[0].name:
            update["sender_name"] = name or found[0].name
    if not given:
        if intake.get("reply_to") and not state.get("reply_to"):
            update["reply_to"] = list(intake["reply_to"])
        notes = [*notes, *(str(p) for p in intake.get("address_problems") or [])]
    return update, [f"sender {n}" if n.startswith("'") else n for n in notes]


async def extract(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Read the invoice from its document; whatever is unsure goes on to the checks as a finding.

    A document that is no e-invoice is read against what the ERP expects (the suppliers with
    open orders, their identifiers and order lines, and the sender): see graphs/invoice/_hints.
    """
    from tools.documents import Document, extract_invoice, instructions_in, instructions_problem

    raw = state.get("document")
    if raw is None:
        extraction: dict[str, Any] = {
            "invoice": None,
            "method": "human",
            "source": "none",
            "confidence": {},
            "problems": ["the message has no attachment and no text to read an invoice from"],
        }
    else:
        try:
            document = Document.model_validate(raw)
        except ValidationError as exc:
            raise _invalid("input `document`", exc) from exc
        hints = None
        if not _is_xml(document):
            intake = state.get("intake") or {}
            async with erp(config) as client:
                hints = await document_hints(client, state.get("sender") or intake.get("sender"))
        models = deps_for(config).models  # none: text no reader knows goes to a person
        read = await extract_invoice(document, hints=hints, models=models)
        extraction = read.model_dump(mode="json")
    invoice = extraction.pop("invoice")
    problems = extraction["problems"]
    # The mail's own text counts too: instructions in the body beside a clean attachment.
    body = (state.get("intake") or {}).get("body")
    said = instructions_in(body) if isinstance(body, str) else None
    if said is not None and instructions_problem(said) not in problems:
        problems.append(instructions_problem(said))
        extraction["review"] = True
    outcome = "extracted" if invoice is not None and not problems else "needs_review"
    reason = f"read by {extraction['method']} ({extraction['source']})"
    if problems:
        reason += ": " + "; ".join(problems)
    return {
        "invoice": invoice,
        "extraction": extraction,
        "decisions": [decision("extract", outcome, reason, extraction["source"])],
    }


def _is_xml(document: Any) -> bool:
    """An e-invoice by its name or type: read by its schema, no hints needed."""
    kind = f"{document.media_type} {document.filename}".lower()
    return "xml" in kind


async def _supplier_for(
    client: TrytonERP, invoice: Invoice, order: PurchaseOrder | None
) -> Supplier | None:
    if order is not None:
        found = await client.find_suppliers(order.supplier, limit=20)
        return next((s for s in found if s.id == order.supplier_id), None)
    for query in (invoice.vendor_tax_id, invoice.vendor_name):
        if query:
            found = await client.find_suppliers(query, limit=20)
            exact = [s for s in found if same_vendor(invoice.vendor_name, s.name)]
            if len(exact) == 1:
                return exact[0]
            if len(found) == 1 and query == invoice.vendor_tax_id:
                return found[0]
    return None


async def check(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Match against the ERP: supplier, open PO, quantities ordered and received, prices, dups."""
    policy = policy_in(state, config)
    extraction = state.get("extraction") or {}
    raw = state.get("invoice")
    if raw is None:
        report = MatchReport(
            findings=[
                Finding(code="extraction", field="document", message=p)
                for p in extraction.get("problems") or ["nothing could be read"]
            ]
        )
        outcome, reason = "needs_review", "no invoice could be read"
        return {
            "match": report.model_dump(mode="json"),
            "status": "needs_review",
            "decisions": [decision("check", outcome, reason, "rules")],
        }
    invoice = Invoice.model_validate(raw)
    async with erp(config) as client:
        orders = (
            await client.find_purchase_orders(number=invoice.po_number, limit=2)
            if invoice.po_number
            else []
        )
        order = orders[0] if len(orders) == 1 else None
        supplier = await _supplier_for(client, invoice, order)
        duplicates, booked = await _booked_copies(client, supplier, invoice)
    report = assess(
        invoice,
        order=order,
        supplier=supplier,
        duplicates=duplicates,
        confidence=extraction.get("confidence") or {},
        problems=extraction.get("problems") or [],
        policy=policy,
    )
    pending = await _pending_copies(state, config, invoice, supplier, report, booked, policy)
    if report.duplicate_of:
        status, outcome = "duplicate", "duplicate"
        reason = next(f.message for f in report.findings if f.code == "duplicate")
    elif report.clean:
        status, outcome = "approved", "approved"
        reason = (
            f"matches purchase order {report.purchase_number}: {len(report.lines)} line(s) within "
            f"{policy.price_tolerance_pct}% of the ordered price"
            + (" and received" if policy.require_receipt else "")
        )
    else:
        status, outcome = "needs_review", "needs_review"
        reason = "; ".join(f.message for f in report.findings)
    if pending.note:
        reason += f" ({pending.note})"
    update: dict[str, Any] = {
        "match": report.model_dump(mode="json"),
        "status": status,
        "claim": pending.held,
        "decisions": [decision("check", outcome, reason, "rules")],
    }
    if status == "duplicate":
        update["reason"] = reason
        # This copy is never booked: it holds no claim a later copy should wait behind.
        await _release(config, pending.held)
        update["claim"] = None
    return update


async def _booked_copies(
    client: TrytonERP, supplier: Supplier | None, invoice: Invoice
) -> tuple[list[ErpInvoice], list[ErpInvoice]]:
    """The ERP invoices of this supplier with this invoice's number (as given, then among the
    newest `RECENT_INVOICES` by `number_key`, so `INV 042` finds `INV-0042`), and those newest."""
    if supplier is None:
        return [], []
    exact = await client.find_supplier_invoices(supplier.id, reference=invoice.invoice_number)
    recent = await client.find_supplier_invoices(supplier.id, limit=RECENT_INVOICES)
    key = number_key(invoice.invoice_number)
    seen = {found.id for found in exact}
    renumbered = [
        found
        for found in recent
        if key is not None and number_key(found.reference) == key and found.id not in seen
    ]
    return exact + renumbered, recent


@dataclass(frozen=True)
class _Pending:
    """What the look at copies in flight left: the claim held, and a note for the decision."""

    held: dict[str, Any] | None
    note: str | None = None


async def _pending_copies(
    state: InvoiceState,
    config: RunnableConfig,
    invoice: Invoice,
    supplier: Supplier | None,
    report: MatchReport,
    booked: list[ErpInvoice],
    policy: Policy,
) -> _Pending:
    """Claim the invoice among the runs in flight and add the copy findings to `report`."""
    store = get_store()
    held = state.get("claim")
    earlier: list[PendingCopy] = []
    near: list[PendingCopy] = []
    note: str | None
    if store is None:
        note = "copies waiting for review were not checked: the graph runs without a store"
    elif supplier is None:
        await _claims.release(store, thread=thread_of(config), held=held)
        held, note = None, "copies waiting for review were not checked: no supplier matched"
    else:
        held, earlier, near = await _claims.claim(
            store, thread=thread_of(config), supplier_id=supplier.id, invoice=invoice, held=held
        )
        note = None if held else "copies waiting for review were not checked: no number to key on"
    report.findings += copies(
        invoice,
        booked=booked,
        earlier=earlier,
        near_pending=near,
        tolerance=policy.amount_tolerance,
        purchase_lines={line.purchase_line_id for line in report.lines},
    )
    return _Pending(held, note)


async def _release(config: RunnableConfig, held: dict[str, Any] | None) -> None:
    """Release this run's claim: it ends without booking the invoice."""
    store = get_store()
    if store is not None:
        await _claims.release(store, thread=thread_of(config), held=held)


def _bookable(state: InvoiceState) -> str | None:
    """Why an approval could not be booked as is, or None when it can."""
    match = state.get("match") or {}
    invoice = state.get("invoice") or {}
    if not match.get("supplier_id") or not match.get("purchase_id"):
        return "no supplier and purchase order matched: edit po_number (or vendor) or reject"
    if len(match.get("lines") or []) != len(invoice.get("lines") or []) or not invoice.get("lines"):
        return "not every line is on the purchase order: edit the lines or reject"
    copy = next(
        (f for f in match.get("findings") or [] if f.get("code") == "duplicate_pending"), None
    )
    if copy is not None:
        # Approving a copy while the first is in flight is how one invoice gets paid twice: the
        # booking key is the number as written, and copies differ in the writing (INV-0042, INV
        # 42). A person rejects the copy; if the first was rejected meanwhile, an edit of any
        # field (the same invoice_number will do) checks this one again, as the original now.
        return (
            f"{copy['message'].removesuffix(': reject this copy')}: reject this copy, or once "
            "that one is rejected send an edit (e.g. the same invoice_number) to check it again"
        )
    if any(f.get("code") == "booking_mismatch" for f in match.get("findings") or []):
        return (
            "the ERP computes another tax or total than the invoice states, and an invoice is "
            "never posted with a total other than the vendor's: edit the figures, or correct "
            "the taxes in the ERP and send the figures as an edit to book again, or reject"
        )
    return None


def _refused(state: InvoiceState) -> str | None:
    return _review.NOTHING_READ if state.get("invoice") is None else _bookable(state)


async def ask(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Mail the policy's reviewers that an invoice waits for them, once per review round (an
    edit that is checked again and still needs a person asks again)."""
    policy = policy_in(state, config)
    reviewers = policy.reviewers
    invoice = state.get("invoice")
    findings = (state.get("match") or {}).get("findings") or []
    headline = _review.headline(state, policy.min_confidence)
    if not reviewers:
        record = unsent(
            None,
            f"Review needed: {headline}",
            "nobody was mailed: the invoice policy names no reviewers (set "
            "configurable.invoice_policy.reviewers on the trigger, assistant or run); the "
            "invoice waits in the API and the console",
        )
        return {"notifications": [{**record, "purpose": "review"}]}
    (pause,) = _review.request(
        invoice,
        findings,
        headline,
        accept_refused=_refused(state),
        sender=_review.sender_label(state),
    )
    thread = thread_of(config)
    assistant = (config.get("configurable") or {}).get("assistant_id") or "invoice_approval"
    body = _review.request_mail(
        pause,
        thread_id=thread,
        assistant_id=str(assistant),
        server_url=deps_for(config).need("public_url"),
    )
    rounds = sum(1 for d in state.get("decisions") or [] if d["step"] == "review")
    key = f"agent-ops/review/{thread}/{rounds + 1}"
    record = await send(reviewers, f"Review needed: {headline}", body, key)
    return {"notifications": [{**record, "purpose": "review"}]}


async def review(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Pause for a person; a malformed answer pauses again with the problem named."""
    invoice = state.get("invoice")
    findings = (state.get("match") or {}).get("findings") or []
    headline = _review.headline(state, policy_in(state, config).min_confidence)
    refused = _refused(state)
    sender = _review.sender_label(state)
    problem: str | None = None
    while True:
        pause = _review.request(
            invoice,
            findings,
            headline,
            accept_refused=refused,
            last_problem=problem,
            sender=sender,
        )
        answer = _review.parse(interrupt(pause), invoice, accept_refused=refused)
        if isinstance(answer, _review.Answer):
            break
        problem = answer
    if answer.kind == "accept":
        overridden = ", ".join(sorted({f["code"] for f in findings})) or "none"
        return {
            "status": "approved",
            "decisions": [
                decision(
                    "review", "approved", f"approved; findings overridden: {overridden}", answer.by
                )
            ],
        }
    if answer.kind == "edit":
        extraction = state.get("extraction") or {}
        return {
            "invoice": answer.invoice,
            # A person has now read the document: what was unsure is vouched for.
            "extraction": {**extraction, "confidence": {}, "problems": []},
            "status": "needs_review",
            "decisions": [
                decision(
                    "review",
                    "edited",
                    f"edited {', '.join(answer.edited)}; checking again",
                    answer.by,
                )
            ],
        }
    reason = answer.text or "rejected by the reviewer"
    await _release(config, state.get("claim"))
    return {
        "status": "rejected",
        "reason": reason,
        "claim": None,
        "decisions": [decision("review", "rejected", reason, answer.by)],
    }
