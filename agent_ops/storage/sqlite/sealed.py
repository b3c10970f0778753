"""Re-sealing on SQLite: the tables that hold sealed values, read and rewritten batch by batch
under the current key (`agent-ops encryption rotate`)."""

from __future__ import annotations

from typing import Any

from agent_ops.storage.encryption import Keyring, Resealed
from agent_ops.storage.sqlite.rows import Tx, dumps, loads

# table: (primary key columns, type column (None: a store value), sealed column)
TABLES: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "checkpoints": (("thread_id", "checkpoint_ns", "checkpoint_id"), "type", "checkpoint"),
    "writes": (("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"), "type", "value"),
    "store_items": (("tenant_id", "namespace", "key"), None, "value"),
}


def reseal_batch(
    tx: Tx, table: str, after: tuple[Any, ...] | None, limit: int, keys: Keyring
) -> Resealed:
    columns, type_column, sealed = TABLES[table]
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    where = f" WHERE ({names}) > ({marks})" if after else ""
    rows = tx.conn.execute(
        f"SELECT {names}, {type_column or 'NULL'} AS _type, {sealed} AS _sealed FROM {table}"
        f"{where} ORDER BY {names} LIMIT ?",
        (*(after or ()), limit),
    ).fetchall()
    batch = Resealed(table)
    for row in rows:
        key = tuple(row[c] for c in columns)
        if type_column is None:
            batch.reseal_value(keys, key, loads(row["_sealed"]), row["_sealed"])
        elif row["_type"] is not None:
            batch.reseal_blob(keys, key, row["_type"], row["_sealed"])
        else:
            batch.last = key
    match = " AND ".join(f"{c} = ?" for c in columns)
    for key, new, old in batch.updates:
        if type_column is None:  # a value overwritten meanwhile keeps its newer content
            tx.conn.execute(
                f"UPDATE {table} SET {sealed} = ? WHERE {match} AND {sealed} = ?",
                (dumps(new), *key, old),
            )
        else:
            tx.conn.execute(
                f"UPDATE {table} SET {type_column} = ?, {sealed} = ? WHERE {match}", (*new, *key)
            )
    batch.updates.clear()
    return batch
