"""The intake ledger on PostgreSQL."""

from __future__ import annotations

from datetime import UTC

from psycopg.rows import DictRow

from agent_ops.errors import NotFound
from agent_ops.storage import _pg_queue as q
from agent_ops.storage._pg_rows import Tx, Where, jsonb, utc
from agent_ops.storage.records import IntakeEntry, IntakeItem
from agent_ops.types import DEFAULT_TENANT, Json


async def create_intake_run(
    tx: Tx,
    entry: IntakeEntry,
    *,
    run_id: str,
    thread_id: str,
    assistant_id: str,
    kwargs: Json,
    metadata: Json,
    thread_metadata: Json,
) -> tuple[IntakeItem, bool]:
    """Insert the ledger row first: a concurrent insert of the same key waits on the primary key
    until this transaction ends, then finds the row and queues nothing."""
    cur = await tx.conn.execute(
        "INSERT INTO intake_items (source, item_key, tenant_id, origin, summary, run_id,"
        " thread_id, assistant_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (source, item_key) DO NOTHING RETURNING *",
        (
            entry.source,
            entry.key,
            DEFAULT_TENANT,
            entry.origin,
            jsonb(entry.summary),
            run_id,
            thread_id,
            assistant_id,
        ),
    )
    row = await cur.fetchone()
    if row is None:
        known = await get_intake(tx, entry.source, entry.key)
        if known is None:  # deleted between the two statements; the ledger is append-only
            raise NotFound(f"intake item {entry.key!r} of source {entry.source!r} vanished")
        return known, False
    await q.create_run(
        tx,
        run_id=run_id,
        thread_id=thread_id,
        assistant_id=assistant_id,
        kwargs=kwargs,
        metadata=metadata,
        multitask_strategy="reject",
        if_not_exists="create",
        after_seconds=0.0,
        stateless=False,
        thread_metadata=thread_metadata,
    )
    return _item(row), True


async def get_intake(tx: Tx, source: str, key: str) -> IntakeItem | None:
    cur = await tx.conn.execute(
        "SELECT * FROM intake_items WHERE source = %s AND item_key = %s", (source, key)
    )
    row = await cur.fetchone()
    return None if row is None else _item(row)


async def settle_intake(tx: Tx, source: str, key: str) -> IntakeItem:
    cur = await tx.conn.execute(
        "UPDATE intake_items SET settled_at = coalesce(settled_at, now())"
        " WHERE source = %s AND item_key = %s RETURNING *",
        (source, key),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"intake item {key!r} of source {source!r} not found")
    return _item(row)


async def list_intake(tx: Tx, source: str | None, limit: int, offset: int) -> list[IntakeItem]:
    where = Where()
    if source is not None:
        where.add("source = %s", source)
    cur = await tx.conn.execute(
        f"SELECT * FROM intake_items{where.sql()} ORDER BY created_at DESC, item_key"
        " LIMIT %s OFFSET %s",
        [*where.params, limit, offset],
    )
    return [_item(r) for r in await cur.fetchall()]


def _item(r: DictRow) -> IntakeItem:
    return IntakeItem(
        source=r["source"],
        key=r["item_key"],
        origin=r["origin"],
        summary=r["summary"],
        run_id=r["run_id"],
        thread_id=r["thread_id"],
        assistant_id=r["assistant_id"],
        created_at=r["created_at"].astimezone(UTC),
        settled_at=utc(r["settled_at"]),
    )
