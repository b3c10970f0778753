"""One supplier invoice per idempotency key, whoever books it and whenever a crash strikes.

Booking leaves an invoice carrying the key: a new one (a create) or one of Tryton's drafts fitted
in place (a write). Several writers of one key can each end with their own: two live callers that
fit different drafts (Tryton's purchase processing may draft again what a first fit left over,
and a second caller then takes that draft), or a booking resumed after its predecessor died with
its create still being carried out in Tryton. Two drafts with one vendor invoice number are worse
than a wasted draft: Tryton refuses to post either as "similar".

So booking follows the rule payments follow (`_keep_one`, shared with `_payments`). Every writer settles after it writes,
and before it trusts what it found: of the live (not cancelled) invoices carrying the key, the
survivor is the one past draft (validated, posted or paid), else the lowest id; every other is a
draft and is deleted by whoever sees it. Posting is the commit point: only the survivor of what a
poster reads is posted, and a post refused because that draft was deleted meanwhile settles again
and posts the new survivor. Writers agree whatever order Tryton commits their writes in: each
reads after its own write committed, so of two writers the later one sees both.

A booking killed with a write in flight cannot settle, and its write may land after a successor
looked: the successor is told when the last write was sent (`in_flight_since`) and waits until
the client's timeout and a margin have passed since then before it looks and books.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from tools.tryton import _records as records
from tools.tryton._client import TrytonClient
from tools.tryton._keep_one import Keyed, keep_one
from tools.tryton._models import Invoice
from tools.tryton._payments import in_flight_until

__all__ = ["INVOICES", "settled", "wait_in_flight"]

INVOICES = Keyed("account.invoice", "supplier invoices", records.INVOICE_FIELDS, records.invoice)


async def settled(client: TrytonClient, key: str) -> Invoice | None:
    """The one live invoice carrying `key` once every other draft of it is deleted; the lowest
    cancelled one when all are cancelled; None when none carries it."""

    async def carrying() -> list[dict[str, Any]]:
        rows = await client.search(
            "account.invoice",
            [
                ("type", "=", "in"),
                ("comment", "like", f"%{records.KEY_MARK}{records.like_escape(key)}%"),
            ],
            ("state", "comment"),
            order=[("id", "ASC")],
        )
        return [row for row in rows if records.key_of(row.get("comment")) == key]

    return await keep_one(client, INVOICES, key, carrying)


async def wait_in_flight(client: TrytonClient, since: dt.datetime | None) -> None:
    """Wait until a booking write sent at `since` by a writer that never saw the answer can no
    longer land in Tryton (at once when `since` is None or long past)."""
    if since is None:
        return
    left = (in_flight_until(client, since) - dt.datetime.now(dt.UTC)).total_seconds()
    if left > 0:
        await asyncio.sleep(left)
