"""Crons on SQLite: schedules that queue runs, and the claim that fires each due one once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._requests import CronChanges, NewCron
from agent_ops.storage.records import Cron
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, dumps, epoch, loads, one

# How a changed column is stored; the others (the schedule) are stored as given.
_ENCODE: dict[str, Callable[[Any], Any]] = {
    "payload": dumps,
    "next_run_date": epoch,
    "end_time": epoch,
    "enabled": int,
}


def create_cron(tx: Tx, new: NewCron) -> Cron:
    c = tx.conn
    if (
        new.thread_id is not None
        and c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (new.thread_id,)).fetchone()
        is None
    ):
        raise _policy.missing("thread", new.thread_id)
    found = c.execute(
        "INSERT INTO crons (cron_id, tenant_id, owner, assistant_id, thread_id, schedule,"
        " payload, metadata, next_run_date, end_time, enabled, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (cron_id) DO NOTHING RETURNING *",
        (*new.params(dumps, epoch), tx.now, tx.now),
    )
    return rec.cron(one(found, _policy.exists("cron", new.cron_id)), COLUMNS)


def get_cron(tx: Tx, cron_id: str) -> Cron:
    found = tx.conn.execute("SELECT * FROM crons WHERE cron_id = ?", (cron_id,))
    return rec.cron(one(found, _policy.missing("cron", cron_id)), COLUMNS)


def update_cron(tx: Tx, cron_id: str, changes: CronChanges) -> Cron:
    found = tx.conn.execute("SELECT metadata FROM crons WHERE cron_id = ?", (cron_id,))
    merged = {**loads(one(found, _policy.missing("cron", cron_id))[0]), **changes.metadata}
    columns = {k: _ENCODE[k](v) if k in _ENCODE else v for k, v in changes.columns.items()}
    sets = "".join(f", {column} = ?" for column in columns)
    row = tx.conn.execute(
        f"UPDATE crons SET updated_at = ?{sets}, metadata = ? WHERE cron_id = ? RETURNING *",
        (tx.now, *columns.values(), dumps(merged), cron_id),
    ).fetchone()
    return rec.cron(row, COLUMNS)


def delete_cron(tx: Tx, cron_id: str) -> None:
    if tx.conn.execute("DELETE FROM crons WHERE cron_id = ?", (cron_id,)).rowcount == 0:
        raise _policy.missing("cron", cron_id)


def claim_due_crons(
    tx: Tx, now: datetime, next_run: Callable[[Cron], datetime | None]
) -> list[Cron]:
    """Advance every due cron and return them as they were (SQLite's one writer makes this
    transaction the only one that sees them due)."""
    rows = tx.conn.execute(
        "SELECT * FROM crons WHERE enabled = 1 AND next_run_date <= ?"
        " ORDER BY next_run_date, cron_id",
        (now.timestamp(),),
    )
    due = [rec.cron(r, COLUMNS) for r in rows]
    for cron in due:
        following = next_run(cron)
        tx.conn.execute(
            "UPDATE crons SET next_run_date = ?, enabled = ?, updated_at = ? WHERE cron_id = ?",
            (epoch(following), int(following is not None), tx.now, cron.cron_id),
        )
    return due
