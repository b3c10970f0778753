"""The intake ledger on SQLite, as functions that each run in one transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from agent_ops.errors import NotFound
from agent_ops.storage import _sqlite_queue as q
from agent_ops.storage._sqlite_rows import dumps, loads, ts
from agent_ops.storage.records import IntakeEntry, IntakeItem
from agent_ops.types import DEFAULT_TENANT, Json


def create_intake_run(
    c: sqlite3.Connection,
    entry: IntakeEntry,
    *,
    run_id: str,
    thread_id: str,
    assistant_id: str,
    kwargs: Json,
    metadata: Json,
    thread_metadata: Json,
    now: float,
) -> tuple[IntakeItem, bool]:
    """Queue the entry's run unless the ledger has it; BEGIN IMMEDIATE serialises the check."""
    known = get_intake(c, entry.source, entry.key)
    if known is not None:
        return known, False
    q.create_run(
        c,
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
        now=now,
    )
    row = c.execute(
        "INSERT INTO intake_items (source, item_key, tenant_id, origin, summary, run_id,"
        " thread_id, assistant_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            entry.source,
            entry.key,
            DEFAULT_TENANT,
            entry.origin,
            dumps(entry.summary),
            run_id,
            thread_id,
            assistant_id,
            now,
        ),
    ).fetchone()
    return _item(row), True


def get_intake(c: sqlite3.Connection, source: str, key: str) -> IntakeItem | None:
    row = c.execute(
        "SELECT * FROM intake_items WHERE source = ? AND item_key = ?", (source, key)
    ).fetchone()
    return None if row is None else _item(row)


def settle_intake(c: sqlite3.Connection, source: str, key: str, now: float) -> IntakeItem:
    row = c.execute(
        "UPDATE intake_items SET settled_at = coalesce(settled_at, ?)"
        " WHERE source = ? AND item_key = ? RETURNING *",
        (now, source, key),
    ).fetchone()
    if row is None:
        raise NotFound(f"intake item {key!r} of source {source!r} not found")
    return _item(row)


def list_intake(
    c: sqlite3.Connection, source: str | None, limit: int, offset: int
) -> list[IntakeItem]:
    where, params = ("WHERE source = ? ", [source]) if source is not None else ("", [])
    rows = c.execute(
        f"SELECT * FROM intake_items {where}ORDER BY created_at DESC, item_key LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [_item(r) for r in rows]


def _item(r: sqlite3.Row) -> IntakeItem:
    return IntakeItem(
        source=r["source"],
        key=r["item_key"],
        origin=r["origin"],
        summary=loads(r["summary"]),
        run_id=r["run_id"],
        thread_id=r["thread_id"],
        assistant_id=r["assistant_id"],
        created_at=datetime.fromtimestamp(r["created_at"], UTC),
        settled_at=ts(r["settled_at"]),
    )
