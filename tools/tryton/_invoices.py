"""One supplier invoice per idempotency key, whoever books it and whenever a crash strikes.

Booking leaves an invoice carrying the key: a new one (a create) or one of Tryton's drafts fitted
in place (a write). Several writers of one key can each end with their own: two live callers that
fit different drafts (Tryton's purchase processing may draft again what a first fit left over,
and a second caller then takes that draft), or a booking resumed after its predecessor died with
its create still being carried out in Tryton. Two drafts with one vendor invoice number are worse
than a wasted draft: Tryton refuses to post either as "similar".

So booking follows the rule payments follow (`_payments`). Every writer settles after it writes,
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
import contextlib
import datetime as dt

from agent_ops.errors import ConnectorError, ConnectorRejected
from tools.tryton import _records as records
from tools.tryton._client import TrytonClient
from tools.tryton._models import Invoice
from tools.tryton._payments import in_flight_until

_ROUNDS = 6

__all__ = ["settled", "wait_in_flight"]


async def settled(client: TrytonClient, key: str) -> Invoice | None:
    """The one live invoice carrying `key` once every other draft of it is deleted; the lowest
    cancelled one when all are cancelled; None when none carries it."""
    for _ in range(_ROUNDS):
        rows = await client.search(
            "account.invoice",
            [
                ("type", "=", "in"),
                ("comment", "like", f"%{records.KEY_MARK}{records.like_escape(key)}%"),
            ],
            ("state", "comment"),
            order=[("id", "ASC")],
        )
        rows = [row for row in rows if records.key_of(row.get("comment")) == key]
        if not rows:
            return None
        live = [row for row in rows if row["state"] != "cancelled"]
        going = [row for row in live if row["state"] != "draft"]
        if len(going) > 1:
            raise ConnectorError(
                f"supplier invoices {[row['id'] for row in going]} all carry idempotency key "
                f"{key!r} and are past draft: cancel all but one in Tryton",
                system="tryton",
                url=client.base_url,
            )
        survivor = (going or live or rows)[0]["id"]
        extra = [row["id"] for row in live if row["id"] != survivor]
        if not extra:
            try:
                return await _read(client, survivor)
            except ConnectorRejected:  # deleted since the search by a writer that saw more
                continue
        for invoice_id in extra:
            # Refused when deleted by another writer, or posted by one that had not seen the
            # survivor yet: what stands now is read again in the next round.
            with contextlib.suppress(ConnectorRejected):
                await client.delete("account.invoice", invoice_id)
    raise ConnectorError(
        f"supplier invoices with idempotency key {key!r} did not settle to one in {_ROUNDS} rounds",
        system="tryton",
        url=client.base_url,
    )


async def wait_in_flight(client: TrytonClient, since: dt.datetime | None) -> None:
    """Wait until a booking write sent at `since` by a writer that never saw the answer can no
    longer land in Tryton (at once when `since` is None or long past)."""
    if since is None:
        return
    left = (in_flight_until(client, since) - dt.datetime.now(dt.UTC)).total_seconds()
    if left > 0:
        await asyncio.sleep(left)


async def _read(client: TrytonClient, invoice_id: int) -> Invoice:
    return records.invoice(await client.read("account.invoice", invoice_id, records.INVOICE_FIELDS))
