"""Doing it: book the approved invoice in Tryton, post it, pay it, read the ledger, tell the sender.

Each step is its own graph node, so a run resumed after a crash starts at the step that did not
finish. Every write carries an idempotency key made from what it is about (the supplier and its
invoice number; the ERP invoice), so a step that ran half-way before the crash, or a second run
for the same invoice, finds what was made instead of making it twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_store

from agent_ops.errors import InvalidInput
from graphs.invoice._env import erp
from graphs.invoice._mail import send, unsent
from graphs.invoice._match import booked_totals
from graphs.invoice._policy import policy_in
from graphs.invoice._state import InvoiceState, decision, thread_of
from tools.documents import Invoice
from tools.tryton import InvoiceLineInput

# When each ERP invoice's payment create was last sent, by ERP invoice id.
PAYMENTS_SENT = ("agent-ops", "invoice", "payments-sent")
# When each vendor invoice's last booking write was sent, by booking idempotency key; `done`
# once a booking returned, so a later step resumed after a crash does not wait for it.
BOOKINGS_SENT = ("agent-ops", "invoice", "bookings-sent")


class _Sends:
    """When a step last sent a write to the ERP, kept in the store (which every process shares):
    a step resumed after its predecessor died learns that a write may still be landing, and the
    ERP call waits for it (see `tools.tryton`). Marked done once the step's call returned, so a
    later resume does not wait. Without a store nothing is kept and nothing waited for."""

    def __init__(self, namespace: tuple[str, ...], key: str, thread: str) -> None:
        self._store = get_store()
        self._namespace, self._key, self._thread = namespace, key, thread
        self._known = False  # a record exists (found, or written by this step)

    async def in_flight_since(self) -> dt.datetime | None:
        """When the last write was sent by a step that did not finish; None if none."""
        if self._store is None:
            return None
        item = await self._store.aget(self._namespace, self._key)
        self._known = item is not None
        if item is None or item.value.get("done"):
            return None
        return dt.datetime.fromisoformat(item.value["sent_at"])

    async def sending(self) -> None:
        """Record, just before a write is sent, that it is."""
        await self._put(done=False)

    async def done(self) -> None:
        """Record that the step's writes all returned (nothing to write when none was kept)."""
        if self._known:
            await self._put(done=True)

    async def _put(self, *, done: bool) -> None:
        if self._store is not None:
            sent_at = dt.datetime.now(dt.UTC).isoformat()
            value = {"sent_at": sent_at, "thread": self._thread, "done": done}
            await self._store.aput(self._namespace, self._key, value, index=False)
            self._known = True


def invoice_key(supplier_id: int, invoice_number: str) -> str:
    return f"agent-ops/invoice/{supplier_id}/{invoice_number.strip().casefold()}"


async def book(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Book the draft supplier invoice billing the matched purchase order lines: the draft
    Tryton made for the order is fitted to the vendor's document (invoice methods `order` and
    `fulfillment`), or one is created (`manual`). A draft whose tax or total (as the ERP
    computes them) is not the document's goes back to a person."""
    invoice = Invoice.model_validate(state["invoice"])
    match = state["match"]
    thread = thread_of(config)
    lines = [
        InvoiceLineInput(
            purchase_line_id=line["purchase_line_id"],
            quantity=float(line["quantity"]),
            unit_price=line["unit_price"],
            description=line["description"],
        )
        for line in match["lines"]
    ]
    key = invoice_key(match["supplier_id"], invoice.invoice_number)
    sends = _Sends(BOOKINGS_SENT, key, thread)
    since = await sends.in_flight_since()

    async with erp(config) as client:
        booked = await client.book_supplier_invoice(
            idempotency_key=key,
            supplier_id=match["supplier_id"],
            invoice_date=invoice.issue_date,
            reference=invoice.invoice_number,
            lines=lines,
            description=f"{invoice.vendor_name} {invoice.invoice_number}",
            comment=f"booked by agent-ops, thread {thread}, against {match['purchase_number']}",
            in_flight_since=since,
            before_write=sends.sending,
        )
        await sends.done()
        mismatch = booked_totals(invoice, booked, policy_in(state, config).amount_tolerance)
        if mismatch is not None and booked.state == "draft":
            # Deleted, not kept: a later booking of the corrected invoice reuses the same key,
            # and the duplicate check would take the stale draft for the invoice. Tryton's
            # purchase processing drafts again what its lines billed, for the next booking.
            await client.delete_draft_invoice(booked.id)
    if mismatch is not None:
        done = (
            f"draft supplier invoice {booked.id} deleted, nothing posted"
            if booked.state == "draft"
            else f"supplier invoice {booked.id} is {booked.state} in the ERP already"
        )
        finding = mismatch.model_copy(update={"message": f"{mismatch.message}; {done}"})
        return {
            "status": "needs_review",
            "match": {**match, "findings": [*match["findings"], finding.model_dump(mode="json")]},
            "decisions": [decision("book", "needs_review", finding.message, "agent-ops")],
        }
    others = ", ".join(str(draft) for draft in booked.fitted if draft != booked.id)
    if booked.fitted and not booked.created:
        how = "is Tryton's draft for the order, fitted to the vendor's invoice"
        how += f" (with lines moved from draft(s) {others})" if others else ""
    elif booked.fitted:
        how = f"created with the billed lines of Tryton's draft(s) {others}"
    else:
        how = "created" if booked.created else "found already booked"
    return {
        "status": "booked",
        "erp": {"invoice_id": booked.id, "total": str(booked.total_amount)},
        "decisions": [
            decision("book", "booked", f"supplier invoice {booked.id} {how}", "agent-ops")
        ],
    }


async def post(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Post it, which puts it on the supplier's payable account. What is posted is the one
    invoice left under the booking's key (a concurrent booking of the same vendor invoice may
    have kept its own instead of this run's: see `tools.tryton`)."""
    invoice_id = state["erp"]["invoice_id"]
    key = invoice_key(state["match"]["supplier_id"], state["invoice"]["invoice_number"])
    async with erp(config) as client:
        posted = await client.post_invoice(invoice_id, idempotency_key=key)
    why = f"posted as {posted.number}"
    if posted.id != invoice_id:
        why += f" (supplier invoice {posted.id}, kept for this vendor invoice over {invoice_id})"
    return {
        "status": "posted",
        "erp": {**state["erp"], "invoice_id": posted.id, "invoice_number": posted.number},
        "decisions": [decision("post", "posted", why, "agent-ops")],
    }


async def pay(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Create and submit the payment, dated on the invoice's due date.

    Just before the payment's create is sent, the store records when (shared by every process);
    a pay step resumed after its predecessor died therefore knows a create may still be landing
    in Tryton, and waits for it instead of making a second payment (see `tools.tryton`)."""
    invoice_id = state["erp"]["invoice_id"]
    sends = _Sends(PAYMENTS_SENT, str(invoice_id), thread_of(config))
    since = await sends.in_flight_since()

    async with erp(config) as client:
        payment = await client.pay_invoice(
            idempotency_key=f"agent-ops/payment/{invoice_id}",
            invoice_id=invoice_id,
            in_flight_since=since,
            before_create=sends.sending,
        )
    how = "created" if payment.created else "found already created"
    return {
        "status": "paid",
        "erp": {
            **state["erp"],
            "payment_id": payment.id,
            "payment_state": payment.state,
            "payment_date": payment.date.isoformat(),
            "amount": str(payment.amount),
        },
        "decisions": [
            decision(
                "pay",
                "scheduled",
                f"payment {payment.id} of {payment.amount} for {payment.date} {how} "
                f"({payment.state})",
                "agent-ops",
            )
        ],
    }


async def ledger(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Read the supplier's open payables, so the state shows where the vendor stands."""
    supplier_id = state["match"]["supplier_id"]
    origin = f"account.invoice,{state['erp']['invoice_id']}"
    async with erp(config) as client:
        book_ = await client.vendor_ledger(supplier_id, open_only=True, limit=500)
    ours = [line for line in book_.lines if line.origin == origin]
    return {
        "ledger": {
            "supplier_id": supplier_id,
            "supplier": book_.supplier,
            "open_lines": len(book_.lines),
            "open_balance": str(book_.total_balance),
            "this_invoice": [line.model_dump(mode="json") for line in ours],
        }
    }


def _message(state: InvoiceState) -> tuple[str, str]:
    invoice = state.get("invoice") or {}
    number = invoice.get("invoice_number") or "your invoice"
    status = state.get("status")
    if status == "paid":
        erp_ = state["erp"]
        return (
            f"Invoice {number} approved for payment",
            f"Your invoice {number} was approved and booked as {erp_.get('invoice_number')}.\n"
            f"Payment of {erp_.get('amount')} {invoice.get('currency', '')} is scheduled "
            f"for {erp_.get('payment_date')}.\n",
        )
    if status == "duplicate":
        return (
            f"Invoice {number} already received",
            f"We already have invoice {number}: {state.get('reason')}.\n"
            "It will not be booked or paid a second time.\n",
        )
    return (
        f"Invoice {number} rejected",
        f"Your invoice {number} was not approved.\nReason: {state.get('reason')}\n",
    )


async def notify(state: InvoiceState, config: RunnableConfig) -> dict[str, Any]:
    """Tell the sender the outcome by e-mail, once (a resumed run sends the same key)."""
    subject, body = _message(state)
    sender = state.get("sender")
    # Answers go where the mail's Reply-To says, else to the sender; a state checkpointed before
    # addresses were parsed may hold a raw `Name <address>`, which send reads as well.
    recipients = list(state.get("reply_to") or ([sender] if sender else []))
    if not policy_in(state, config).notify_sender:
        reason = "the policy turns notifications off"
    elif not recipients:
        reason = "no sender address to notify"
    else:
        key = f"agent-ops/notify/{thread_of(config)}/{state.get('status')}"
        replying_to = (state.get("intake") or {}).get("message_id")
        try:
            record = await send(recipients, subject, body, key, in_reply_to=replying_to)
        except InvalidInput as exc:  # an unusable address must not undo a paid invoice's run
            reason = str(exc)
        else:
            return {"notifications": [{**record, "purpose": "outcome"}]}
    to = ", ".join(recipients) or None
    return {"notifications": [{**unsent(to, subject, reason), "purpose": "outcome"}]}
