"""The intake ledger on PostgreSQL: each item a trigger took in, and the run it started."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import NewRun
from agent_ops.storage.postgres.rows import COLUMNS, Tx, Where, jsonb
from agent_ops.storage.postgres.runs import create_run
from agent_ops.storage.records import IntakeEntry, IntakeItem


async def create_intake_run(tx: Tx, entry: IntakeEntry, new: NewRun) -> tuple[IntakeItem, bool]:
    """Insert the ledger row first: a concurrent insert of the same key waits on the primary key
    until this transaction ends, then finds the row and queues nothing."""
    cur = await tx.conn.execute(
        "INSERT INTO intake_items (source, item_key, tenant_id, origin, summary, run_id,"
        " thread_id, assistant_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (source, item_key) DO NOTHING RETURNING *",
        rec.intake_params(entry, new, jsonb),
    )
    row = await cur.fetchone()
    if row is None:
        known = await get_intake(tx, entry.source, entry.key)
        if known is None:  # deleted between the two statements; the ledger is append-only
            raise _policy.intake_missing(entry.source, entry.key)
        return known, False
    await create_run(tx, new)
    return rec.intake(row, COLUMNS), True


async def get_intake(tx: Tx, source: str, key: str) -> IntakeItem | None:
    cur = await tx.conn.execute(
        "SELECT * FROM intake_items WHERE source = %s AND item_key = %s", (source, key)
    )
    row = await cur.fetchone()
    return None if row is None else rec.intake(row, COLUMNS)


async def settle_intake(tx: Tx, source: str, key: str) -> IntakeItem:
    cur = await tx.conn.execute(
        "UPDATE intake_items SET settled_at = coalesce(settled_at, now())"
        " WHERE source = %s AND item_key = %s RETURNING *",
        (source, key),
    )
    row = await cur.fetchone()
    if row is None:
        raise _policy.intake_missing(source, key)
    return rec.intake(row, COLUMNS)


async def list_intake(tx: Tx, where: Where, limit: int, offset: int) -> list[IntakeItem]:
    cur = await tx.conn.execute(
        f"SELECT * FROM intake_items{where.sql()} ORDER BY created_at DESC, item_key"
        " LIMIT %s OFFSET %s",
        (*where.params, limit, offset),
    )
    return [rec.intake(r, COLUMNS) for r in await cur.fetchall()]
