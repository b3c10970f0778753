"""The intake ledger on SQLite: each item a trigger took in, and the run it started."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import NewRun
from agent_ops.storage.records import IntakeEntry, IntakeItem
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, Where, dumps
from agent_ops.storage.sqlite.runs import create_run


def create_intake_run(tx: Tx, entry: IntakeEntry, new: NewRun) -> tuple[IntakeItem, bool]:
    """Queue the entry's run unless the ledger has it; BEGIN IMMEDIATE serialises the check."""
    known = get_intake(tx, entry.source, entry.key)
    if known is not None:
        return known, False
    create_run(tx, new)
    row = tx.conn.execute(
        "INSERT INTO intake_items (source, item_key, tenant_id, origin, summary, run_id,"
        " thread_id, assistant_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (*rec.intake_params(entry, new, dumps), tx.now),
    ).fetchone()
    return rec.intake(row, COLUMNS), True


def get_intake(tx: Tx, source: str, key: str) -> IntakeItem | None:
    row = tx.conn.execute(
        "SELECT * FROM intake_items WHERE source = ? AND item_key = ?", (source, key)
    ).fetchone()
    return None if row is None else rec.intake(row, COLUMNS)


def settle_intake(tx: Tx, source: str, key: str) -> IntakeItem:
    row = tx.conn.execute(
        "UPDATE intake_items SET settled_at = coalesce(settled_at, ?)"
        " WHERE source = ? AND item_key = ? RETURNING *",
        (tx.now, source, key),
    ).fetchone()
    if row is None:
        raise _policy.intake_missing(source, key)
    return rec.intake(row, COLUMNS)


def list_intake(tx: Tx, where: Where, limit: int, offset: int) -> list[IntakeItem]:
    rows = tx.conn.execute(
        f"SELECT * FROM intake_items{where.sql()} ORDER BY created_at DESC, item_key"
        " LIMIT ? OFFSET ?",
        (*where.params, limit, offset),
    )
    return [rec.intake(r, COLUMNS) for r in rows]
