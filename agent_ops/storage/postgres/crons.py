"""Crons on PostgreSQL: schedules that queue runs, and the claim that fires each due one once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from psycopg import errors as pg_errors
from psycopg import sql

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._requests import CronChanges, NewCron
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb, one
from agent_ops.storage.records import Cron


async def create_cron(tx: Tx, new: NewCron) -> Cron:
    try:
        cur = await tx.conn.execute(
            "INSERT INTO crons (cron_id, tenant_id, owner, assistant_id, thread_id, schedule,"
            " payload, metadata, next_run_date, end_time, enabled)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
            new.params(jsonb, lambda time: time),
        )
    except pg_errors.ForeignKeyViolation as exc:
        raise _policy.missing("thread", str(new.thread_id)) from exc
    except pg_errors.UniqueViolation as exc:
        raise _policy.exists("cron", new.cron_id) from exc
    row = await cur.fetchone()
    assert row is not None, "INSERT ... RETURNING returns the row"
    return rec.cron(row, COLUMNS)


async def get_cron(tx: Tx, cron_id: str) -> Cron:
    found = await tx.conn.execute("SELECT * FROM crons WHERE cron_id = %s", (cron_id,))
    return rec.cron(await one(found, _policy.missing("cron", cron_id)), COLUMNS)


async def update_cron(tx: Tx, cron_id: str, changes: CronChanges) -> Cron:
    columns = {k: jsonb(v) if k == "payload" else v for k, v in changes.columns.items()}
    sets = sql.SQL("").join(
        sql.SQL(", {} = {}").format(sql.Identifier(column), sql.Placeholder(column))
        for column in columns
    )
    query = sql.SQL(
        "UPDATE crons SET updated_at = now(), metadata = metadata || %(metadata)s{}"
        " WHERE cron_id = %(cron_id)s RETURNING *"
    ).format(sets)
    params = {**columns, "metadata": jsonb(changes.metadata), "cron_id": cron_id}
    found = await tx.conn.execute(query, params)
    return rec.cron(await one(found, _policy.missing("cron", cron_id)), COLUMNS)


async def delete_cron(tx: Tx, cron_id: str) -> None:
    cur = await tx.conn.execute(
        "DELETE FROM crons WHERE cron_id = %s RETURNING cron_id", (cron_id,)
    )
    if await cur.fetchone() is None:
        raise _policy.missing("cron", cron_id)


async def claim_due_crons(
    tx: Tx, now: datetime, next_run: Callable[[Cron], datetime | None]
) -> list[Cron]:
    """Advance every due cron and return them as they were; rows another caller holds are
    skipped, and once it commits they are no longer due."""
    cur = await tx.conn.execute(
        "SELECT * FROM crons WHERE enabled AND next_run_date <= %s"
        " ORDER BY next_run_date, cron_id FOR UPDATE SKIP LOCKED",
        (now,),
    )
    due = [rec.cron(r, COLUMNS) for r in await cur.fetchall()]
    for cron in due:
        following = next_run(cron)
        await tx.conn.execute(
            "UPDATE crons SET next_run_date = %s, enabled = %s, updated_at = now()"
            " WHERE cron_id = %s",
            (following, following is not None, cron.cron_id),
        )
    return due
