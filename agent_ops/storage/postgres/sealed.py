"""Re-sealing on PostgreSQL: the tables that hold sealed values, read and rewritten batch by
batch under the current key (`agent-ops encryption rotate`)."""

from __future__ import annotations

from typing import Any, Literal

from agent_ops.storage.encryption import Keyring, Resealed
from agent_ops.storage.postgres.rows import Tx, jsonb

Kind = Literal["checkpoint", "value", "event"]

# table: (primary key columns, what it seals, the sealed column); a checkpoint's is typed by
# its `type` column, "<kind>+aes" when sealed. The `checkpoints` table holds no sealed value:
# under a key its JSONB keeps only versions and ids.
TABLES: dict[str, tuple[tuple[str, ...], Kind, str]] = {
    "checkpoint_blobs": (
        ("thread_id", "checkpoint_ns", "channel", "version"),
        "checkpoint",
        "blob",
    ),
    "checkpoint_writes": (
        ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"),
        "checkpoint",
        "blob",
    ),
    "store_items": (("tenant_id", "namespace", "key"), "value", "value"),
    "run_events": (("run_id", "seq"), "event", "data"),
    "thread_events": (("thread_id", "event_id"), "event", "data"),
}


async def reseal_batch(
    tx: Tx, table: str, after: tuple[Any, ...] | None, limit: int, keys: Keyring
) -> Resealed:
    columns, kind, sealed = TABLES[table]
    type_column = "type" if kind == "checkpoint" else None
    names = ", ".join(columns)
    marks = ", ".join("%s" for _ in columns)
    where = f" WHERE ({names}) > ({marks})" if after else ""
    cur = await tx.conn.execute(
        f"SELECT {names}, {type_column or 'NULL'} AS _type, {sealed} AS _sealed FROM {table}"
        f"{where} ORDER BY {names} LIMIT %s",
        (*(after or ()), limit),
    )
    batch = Resealed(table)
    for row in await cur.fetchall():
        key = tuple(row[c] for c in columns)
        if kind == "event":
            batch.reseal_bytes(keys, key, bytes(row["_sealed"]))
        elif kind == "value":
            batch.reseal_value(keys, key, row["_sealed"], row["_sealed"])
        elif row["_type"] not in (None, "empty"):  # "empty": a channel without a value
            batch.reseal_blob(keys, key, row["_type"], bytes(row["_sealed"]))
        else:
            batch.last = key
    match = " AND ".join(f"{c} = %s" for c in columns)
    for key, new, old in batch.updates:
        if kind == "event":
            await tx.conn.execute(f"UPDATE {table} SET {sealed} = %s WHERE {match}", (new, *key))
        elif kind == "value":  # a value overwritten meanwhile keeps its newer content
            await tx.conn.execute(
                f"UPDATE {table} SET {sealed} = %s WHERE {match} AND {sealed} = %s",
                (jsonb(new), *key, jsonb(old)),
            )
        else:  # a checkpoint row rewritten meanwhile (a pending write replaced) is left
            await tx.conn.execute(
                f"UPDATE {table} SET {type_column} = %s, {sealed} = %s WHERE {match}"
                f" AND {type_column} = %s AND {sealed} = %s",
                (*new, *key, *old),
            )
    batch.updates.clear()
    return batch
