"""Re-sealing on PostgreSQL: the tables that hold sealed values, read and rewritten batch by
batch under the current key (`agent-ops encryption rotate`; the statements are `_sealed`'s)."""

from __future__ import annotations

from typing import Any

from agent_ops.storage._sealed import SealedTable
from agent_ops.storage.encryption import Keyring, Resealed
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb

# The `checkpoints` table holds no sealed value: under a key its JSONB keeps only versions and ids.
TABLES: dict[str, SealedTable] = {
    "checkpoint_blobs": SealedTable(
        ("thread_id", "checkpoint_ns", "channel", "version"), "checkpoint", "blob"
    ),
    "checkpoint_writes": SealedTable(
        ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"), "checkpoint", "blob"
    ),
    "store_items": SealedTable(("tenant_id", "namespace", "key"), "value", "value"),
    "run_events": SealedTable(("run_id", "seq"), "event", "data"),
    "thread_events": SealedTable(("thread_id", "event_id"), "event", "data"),
}


async def reseal_batch(
    tx: Tx, table: str, after: tuple[Any, ...] | None, limit: int, keys: Keyring
) -> Resealed:
    spec = TABLES[table]
    cur = await tx.conn.execute(spec.select(table, "%s", after), (*(after or ()), limit))
    batch = spec.read(table, await cur.fetchall(), keys, COLUMNS.json)
    if batch.updates:
        async with tx.conn.cursor() as many:
            await many.executemany(
                spec.update(table, "%s"), spec.update_params(batch, jsonb, jsonb)
            )
    batch.updates.clear()
    return batch
