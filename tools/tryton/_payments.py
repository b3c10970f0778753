"""One payment per idempotency key, whoever creates it and whenever a crash strikes.

Tryton's REST API offers no conditional create, so several writers of one key can each create
a payment (two live callers at once, or a caller resumed after its predecessor died with its
create still being carried out in Tryton). Every writer therefore settles after it creates,
and before it trusts what it found: of the payments carrying the key, the one that survives is
the lowest id among those already past draft (submitted or later), else the lowest id; every
other one is a draft (only a survivor is ever submitted) and is deleted by whoever sees it.
Writers agree whatever order Tryton commits their creates in: a writer submits only the
survivor of what it read, and of two writers each reads the other's payment (each reads after
its own create committed), so the one that sees both deletes the other's draft, or finds it
submitted and deletes its own.

A writer killed with its create in flight cannot settle, and its create may commit in Tryton
after a successor looked: the successor is told when that create was sent (`in_flight_since`)
and waits, looking, until the client's timeout and a margin have passed since then before it
creates one itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from agent_ops.errors import ConnectorError, ConnectorRejected
from tools.tryton import _records as records
from tools.tryton._client import TrytonClient
from tools.tryton._keep_one import ROUNDS, Keyed, keep_one
from tools.tryton._models import Payment

IN_FLIGHT_MARGIN = 5.0  # seconds beyond the client's timeout that a sent create may still land
_LOOK_EVERY = 0.5

__all__ = [
    "IN_FLIGHT_MARGIN",
    "PAYMENTS",
    "in_flight_until",
    "settled",
    "submitted",
    "wait_in_flight",
]

PAYMENTS = Keyed("account.payment", "payments", records.PAYMENT_FIELDS, records.payment)


def in_flight_until(client: TrytonClient, since: dt.datetime) -> dt.datetime:
    """The last moment a create sent at `since` can be expected to land in Tryton."""
    return since + dt.timedelta(seconds=client.settings.timeout + IN_FLIGHT_MARGIN)


async def settled(client: TrytonClient, key: str) -> Payment | None:
    """The one payment carrying `key` once every other is deleted, or None when there is none."""

    async def carrying() -> list[dict[str, Any]]:
        return await client.search(
            "account.payment",
            [("reference", "=", key), ("kind", "=", "payable")],
            ("state",),
            order=[("id", "ASC")],
        )

    return await keep_one(client, PAYMENTS, key, carrying)


async def submitted(client: TrytonClient, key: str, payment: Payment) -> Payment:
    """Submit the survivor `payment` of `key`; settle again when a concurrent writer deleted it."""
    for _ in range(ROUNDS):
        if payment.state != "draft":
            return payment
        # Refused when deleted as a duplicate or submitted meanwhile: settling tells which.
        with contextlib.suppress(ConnectorRejected):
            await client.action("account.payment", "submit", payment.id)
        again = await settled(client, key)
        if again is None:
            raise ConnectorError(
                f"payment {payment.id} with idempotency key {key!r} vanished while being "
                "submitted, and no other carries the key",
                system="tryton",
                url=client.base_url,
            )
        payment = again
    raise ConnectorError(
        f"payment {payment.id} with idempotency key {key!r} could not be submitted",
        system="tryton",
        url=client.base_url,
    )


async def wait_in_flight(
    client: TrytonClient, key: str, since: dt.datetime | None
) -> Payment | None:
    """The payment of `key`, waiting for one whose create was sent at `since` by a writer that
    never saw the answer, until it can no longer land; None when none came."""
    found = await settled(client, key)
    if found is not None or since is None:
        return found
    until = in_flight_until(client, since)
    while (left := (until - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
        await asyncio.sleep(min(_LOOK_EVERY, left))
        if (found := await settled(client, key)) is not None:
            return found
    return None
