"""Reading and checking: receive the input, extract the invoice, match it, ask a person."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt
from pydantic import ValidationError

from agent_ops.errors import InvalidInput, validation_text
from agent_ops.settings import Settings
from graphs.invoice import _review
from graphs.invoice._env import erp
from graphs.invoice._hints import document_hints
from graphs.invoice._mail import send
from graphs.invoice._match import Finding, MatchReport, assess, same_vendor
from graphs.invoice._policy import policy_in, policy_of
from graphs.invoice._state import InvoiceState, decision, thread_of
from tools.documents import Invoice
from tools.tryton import PurchaseOrder, Supplier, TrytonERP

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
        if not state.get("sender") and intake.get("sender"):
            update["sender"] = intake["sender"]
    else:
        raise InvalidInput("give the workflow an `invoice`, a `document` or an `intake`")
    return {**update, "decisions": [decision("receive", "received", reason, "rules")]}


async def extract(state: InvoiceState) -> dict[str, Any]:
    """Read the invoice from its document; whatever is unsure goes on to the checks as a finding.

    A document that is no e-invoice is read against what the ERP expects (the suppliers with
    open orders, their identifiers and order lines, and the sender): see graphs/invoice/_hints.
    """
    from tools.documents import Document, extract_invoice

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
            async with erp() as client:
                hints = await document_hints(client, state.get("sender") or intake.get("sender"))
        extraction = (await extract_invoice(document, hints=hints)).model_dump(mode="json")
    invoice = extraction.pop("invoice")
    problems = extraction["problems"]
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
    async with erp() as client:
        orders = (
            await client.find_purchase_orders(number=invoice.po_number, limit=2)
            if invoice.po_number
            else []
        )
        order = orders[0] if len(orders) == 1 else None
        supplier = await _supplier_for(client, invoice, order)
        duplicates = (
            await client.find_supplier_invoices(supplier.id, reference=invoice.invoice_number)
            if supplier
            else []
        )
    report = assess(
        invoice,
        order=order,
        supplier=supplier,
        duplicates=duplicates,
        confidence=extraction.get("confidence") or {},
        problems=extraction.get("problems") or [],
        policy=policy,
    )
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
    update: dict[str, Any] = {
        "match": report.model_dump(mode="json"),
        "status": status,
        "decisions": [decision("check", outcome, reason, "rules")],
    }
    if status == "duplicate":
        update["reason"] = reason
    return update


def _bookable(state: InvoiceState) -> str | None:
    """Why an approval could not be booked as is, or None when it can."""
    match = state.get("match") or {}
    invoice = state.get("invoice") or {}
    if not match.get("supplier_id") or not match.get("purchase_id"):
        return "no supplier and purchase order matched: edit po_number (or vendor) or reject"
    if len(match.get("lines") or []) != len(invoice.get("lines") or []) or not invoice.get("lines"):
        return "not every line is on the purchase order: edit the lines or reject"
    if any(f.get("code") == "booking_mismatch" for f in match.get("findings") or []):
        return (
            "the ERP computes another tax or total than the invoice states, and an invoice is "
            "never posted with a total other than the vendor's: edit the figures, or correct "
            "the taxes in the ERP and send the figures as an edit to book again, or reject"
        )
    return None


def _headline(invoice: dict[str, Any] | None) -> str:
    if invoice is None:
        return "A document arrived but no invoice could be read from it"
    return (
        f"Invoice {invoice['invoice_number']} from {invoice['vendor_name']}: "
        f"{invoice['currency']} {invoice['total']}"
    )


def _refused(state: InvoiceState) -> str | None:
    return _review.NOTHING_READ if state.get("invoice") is None else _bookable(state)


async def ask(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Mail the policy's reviewers that an invoice waits for them, once per review round (an
    edit that is checked again and still needs a person asks again)."""
    reviewers = policy_in(state, config).reviewers
    if not reviewers:
        return {}
    invoice = state.get("invoice")
    findings = (state.get("match") or {}).get("findings") or []
    headline = _headline(invoice)
    (pause,) = _review.request(invoice, findings, headline, accept_refused=_refused(state))
    thread = thread_of(config)
    assistant = (config.get("configurable") or {}).get("assistant_id") or "invoice_approval"
    body = _review.request_mail(
        pause,
        thread_id=thread,
        assistant_id=str(assistant),
        server_url=Settings.load().url,
    )
    rounds = sum(1 for d in state.get("decisions") or [] if d["step"] == "review")
    key = f"agent-ops/review/{thread}/{rounds + 1}"
    record = await send(reviewers, f"Review needed: {headline}", body, key)
    return {"notifications": [{**record, "purpose": "review"}]}


async def review(state: InvoiceState) -> dict[str, Any]:
    """Pause for a person; a malformed answer pauses again with the problem named."""
    invoice = state.get("invoice")
    findings = (state.get("match") or {}).get("findings") or []
    headline = _headline(invoice)
    refused = _refused(state)
    problem: str | None = None
    while True:
        pause = _review.request(
            invoice, findings, headline, accept_refused=refused, last_problem=problem
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
    return {
        "status": "rejected",
        "reason": reason,
        "decisions": [decision("review", "rejected", reason, answer.by)],
    }
