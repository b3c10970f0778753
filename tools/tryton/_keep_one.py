"""The one record a key keeps: the survivor rule bookings (`_invoices`) and payments
(`_payments`) share.

Of the live (not cancelled) records carrying a key, the survivor is the one past draft, else the
lowest id; every other live one is a draft and is deleted by whoever sees it. Two past draft is
a state no writer of ours makes (only a survivor is ever posted or submitted): a person must
choose. When every record is cancelled, the lowest is returned and nothing deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from agent_ops.errors import ConnectorError, ConnectorRejected
from tools.tryton._client import TrytonClient

T = TypeVar("T")
ROUNDS = 6

__all__ = ["ROUNDS", "Keyed", "keep_one"]


@dataclass(frozen=True)
class Keyed(Generic[T]):
    """A Tryton model whose records carry an idempotency key: its name, what errors call its
    records, and how one is read into the connector's model."""

    model: str
    what: str
    fields: Sequence[str]
    build: Callable[[dict[str, Any]], T]

    async def read(self, client: TrytonClient, record_id: int) -> T:
        return self.build(await client.read(self.model, record_id, self.fields))


async def keep_one(
    client: TrytonClient,
    keyed: Keyed[T],
    key: str,
    carrying: Callable[[], Awaitable[list[dict[str, Any]]]],
) -> T | None:
    """The survivor of the `keyed` records `carrying` finds (rows with `id` and `state`, lowest
    id first) once the others are deleted; None when there is none."""
    for _ in range(ROUNDS):
        rows = await carrying()
        if not rows:
            return None
        live = [row for row in rows if row["state"] != "cancelled"]
        going = [row for row in live if row["state"] != "draft"]
        if len(going) > 1:
            raise ConnectorError(
                f"{keyed.what} {[row['id'] for row in going]} all carry idempotency key {key!r} and "
                "are past draft: cancel all but one in Tryton",
                system="tryton",
                url=client.base_url,
            )
        survivor = (going or live or rows)[0]["id"]
        extra = [row["id"] for row in live if row["id"] != survivor]
        if not extra:
            try:
                return await keyed.read(client, survivor)
            except ConnectorRejected:  # deleted since the search by a writer that saw more
                continue
        for record_id in extra:
            # Refused when deleted by another writer, or moved past draft by one that had not
            # seen the survivor yet: what stands now is read again in the next round.
            with contextlib.suppress(ConnectorRejected):
                await client.delete(keyed.model, record_id)
    raise ConnectorError(
        f"{keyed.what} with idempotency key {key!r} did not settle to one in {ROUNDS} rounds",
        system="tryton",
        url=client.base_url,
    )
