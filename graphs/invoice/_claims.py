"""Claims on invoices not booked yet: how a run learns that another copy of its invoice is in
flight (waiting for a person, or between the check and the ERP).

Booked and paid invoices are in the ERP, and the check asks it; invoices still in flight are
only in agent-ops, so each run claims its (supplier, number) in the LangGraph store the graph
is given (the server's store, shared by every worker and process). A check first writes its
claim, then reads every claim on the same key: of two checks at the same moment at least one
reads the other's claim, and the earliest claim (by `claimed_at`, then thread id) is the
original, so exactly one copy goes on without a person. A claim is released when its run ends
rejected or as a duplicate, and kept when it is paid (the ERP knows the invoice from then on).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from langgraph.store.base import BaseStore

from graphs.invoice._match import PendingCopy, number_key
from tools.documents import Invoice

NAMESPACE = ("agent-ops", "invoice", "claims")
_PAGE = 100


def _namespace(supplier_id: int, key: str | None = None) -> tuple[str, ...]:
    return (*NAMESPACE, str(supplier_id)) + ((key,) if key else ())


def _amount(invoice: Invoice) -> str:
    return f"{invoice.total:.2f}"


async def claim(
    store: BaseStore,
    *,
    thread: str,
    supplier_id: int,
    invoice: Invoice,
    held: dict[str, Any] | None,
) -> tuple[dict[str, Any] | None, list[PendingCopy], list[PendingCopy]]:
    """Claim this invoice for `thread` and read the others' claims.

    `held` is the claim this thread holds from an earlier check (an edit may have changed the
    number or the supplier: that one is released). Returns the claim now held (None when the
    number has no letters or digits to key on), the earlier claims on the same key (the first
    is the original; empty when this thread is it), and other runs' claims on the same supplier
    with another number but the same issue date, currency and total.
    """
    key = number_key(invoice.invoice_number)
    mine = {"supplier_id": supplier_id, "key": key} if key else None
    if held and held != mine:
        await release(store, thread=thread, held=held)
    if mine is None or key is None:
        return None, [], []
    namespace = _namespace(supplier_id, key)
    before = await store.aget(namespace, thread)
    claimed_at = (
        before.value["claimed_at"]
        if before is not None
        else dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    )
    await store.aput(
        namespace,
        thread,
        {
            "thread_id": thread,
            "invoice_number": invoice.invoice_number,
            "issue_date": invoice.issue_date.isoformat(),
            "total": _amount(invoice),
            "currency": invoice.currency,
            "po_number": number_key(invoice.po_number),
            "claimed_at": claimed_at,
        },
        index=False,
    )
    # Read only after the write: a check running at the same moment then sees this claim or
    # has written its own before this read, so at least one of the two sees the other.
    same = sorted(await _all(store, namespace, None), key=lambda c: (c.claimed_at, c.thread_id))
    order = [c.thread_id for c in same]
    earlier = same[: order.index(thread)] if thread in order else same
    near = [
        c
        for c in await _all(
            store,
            _namespace(supplier_id),
            {
                "issue_date": invoice.issue_date.isoformat(),
                "total": _amount(invoice),
                "currency": invoice.currency,
            },
        )
        if c.thread_id != thread and number_key(c.invoice_number) != key
    ]
    return mine, earlier, near


async def release(store: BaseStore, *, thread: str, held: dict[str, Any] | None) -> None:
    """Drop this thread's claim (its run ended without booking the invoice)."""
    if held and held.get("key"):
        await store.adelete(_namespace(int(held["supplier_id"]), str(held["key"])), thread)


async def _all(
    store: BaseStore, prefix: tuple[str, ...], filter: dict[str, Any] | None
) -> list[PendingCopy]:
    found: list[PendingCopy] = []
    offset = 0
    while True:
        page = await store.asearch(prefix, filter=filter, limit=_PAGE, offset=offset)
        found += [PendingCopy.model_validate(item.value) for item in page]
        if len(page) < _PAGE:
            return found
        offset += _PAGE
