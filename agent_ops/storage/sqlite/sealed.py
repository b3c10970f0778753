"""Re-sealing on SQLite: the tables that hold sealed values, read and rewritten batch by batch
under the current key (`agent-ops encryption rotate`; the statements are `_sealed`'s)."""

from __future__ import annotations

from typing import Any

from agent_ops.storage._sealed import SealedTable
from agent_ops.storage.encryption import Keyring, Resealed
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, dumps

TABLES: dict[str, SealedTable] = {
    "checkpoints": SealedTable(
        ("thread_id", "checkpoint_ns", "checkpoint_id"), "checkpoint", "checkpoint"
    ),
    "writes": SealedTable(
        ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"), "checkpoint", "value"
    ),
    "store_items": SealedTable(("tenant_id", "namespace", "key"), "value", "value"),
    "run_events": SealedTable(("run_id", "seq"), "event", "data"),
    "thread_events": SealedTable(("thread_id", "event_id"), "event", "data"),
}


def reseal_batch(
    tx: Tx, table: str, after: tuple[Any, ...] | None, limit: int, keys: Keyring
) -> Resealed:
    spec = TABLES[table]
    rows = tx.conn.execute(spec.select(table, "?", after), (*(after or ()), limit)).fetchall()
    batch = spec.read(table, rows, keys, COLUMNS.json)
    # A value as read is the stored JSON text itself, compared as it is.
    params = spec.update_params(batch, dumps, lambda text: text)
    tx.conn.executemany(spec.update(table, "?"), params)
    batch.updates.clear()
    return batch
