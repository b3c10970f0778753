"""Re-sealing on SQLite: the tables that hold sealed values, read and rewritten batch by batch
under the current key (`agent-ops encryption rotate`)."""

from __future__ import annotations

from typing import Any, Literal

from agent_ops.storage.encryption import Keyring, Resealed
from agent_ops.storage.sqlite.rows import Tx, dumps, loads

Kind = Literal["checkpoint", "value", "event"]

# table: (primary key columns, what it seals, the sealed column); a checkpoint's is typed by
# its `type` column, "<kind>+aes" when sealed.
TABLES: dict[str, tuple[tuple[str, ...], Kind, str]] = {
    "checkpoints": (("thread_id", "checkpoint_ns", "checkpoint_id"), "checkpoint", "checkpoint"),
    "writes": (
        ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"),
        "checkpoint",
        "value",
    ),
    "store_items": (("tenant_id", "namespace", "key"), "value", "value"),
    "run_events": (("run_id", "seq"), "event", "data"),
    "thread_events": (("thread_id", "event_id"), "event", "data"),
}


def reseal_batch(
    tx: Tx, table: str, after: tuple[Any, ...] | None, limit: int, keys: Keyring
) -> Resealed:
    columns, kind, sealed = TABLES[table]
    type_column = "type" if kind == "checkpoint" else None
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
        if kind == "event":
            batch.reseal_bytes(keys, key, bytes(row["_sealed"]))
        elif kind == "value":
            batch.reseal_value(keys, key, loads(row["_sealed"]), row["_sealed"])
        elif row["_type"] is not None:
            batch.reseal_blob(keys, key, row["_type"], row["_sealed"])
        else:
            batch.last = key
    match = " AND ".join(f"{c} = ?" for c in columns)
    for key, new, old in batch.updates:
        if kind == "event":
            tx.conn.execute(f"UPDATE {table} SET {sealed} = ? WHERE {match}", (new, *key))
        elif kind == "value":  # a value overwritten meanwhile keeps its newer content
            tx.conn.execute(
                f"UPDATE {table} SET {sealed} = ? WHERE {match} AND {sealed} = ?",
                (dumps(new), *key, old),
            )
        else:  # a checkpoint row rewritten meanwhile (a pending write replaced) is left
            tx.conn.execute(
                f"UPDATE {table} SET {type_column} = ?, {sealed} = ? WHERE {match}"
                f" AND {type_column} = ? AND {sealed} = ?",
                (*new, *key, *old),
            )
    batch.updates.clear()
    return batch
