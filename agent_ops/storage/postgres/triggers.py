"""Triggers on PostgreSQL: their rows, the claim of a due time, the idempotency ledger, a
threshold's observations. The claim is a conditional UPDATE of `next_due`: of two processes
claiming one due time, the second waits on the row lock, re-reads it once the first commits,
finds `next_due` moved on and claims nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from agent_ops.storage import _triggers
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb, maybe_jsonb, one
from agent_ops.storage.postgres.runs import create_run

_JSON = frozenset({"spec", "input_mapping", "state"})


async def create_trigger(tx: Tx, new: _triggers.NewTrigger) -> _triggers.StoredTrigger:
    try:
        async with tx.conn.transaction():  # a savepoint: the duplicate leaves the tx usable
            cur = await tx.conn.execute(
                "INSERT INTO triggers (trigger_id, tenant_id, owner, name, kind, assistant_id,"
                " enabled, spec, input_mapping, business_key, multitask_strategy, secret,"
                " next_due) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " RETURNING *",
                new.params(maybe_jsonb, lambda time: time),
            )
    except psycopg.errors.UniqueViolation:
        raise _triggers.duplicate_name(new.name) from None
    return _triggers.trigger_of(await one(cur, LookupError("the INSERT returned no row")), COLUMNS)


async def get_trigger(tx: Tx, trigger_id: str) -> _triggers.StoredTrigger:
    cur = await tx.conn.execute("SELECT * FROM triggers WHERE trigger_id = %s", (trigger_id,))
    row = await cur.fetchone()
    if row is None:
        raise _triggers.missing_trigger(trigger_id)
    return _triggers.trigger_of(row, COLUMNS)


async def list_triggers(
    tx: Tx, tenant_id: str | None, kind: str | None
) -> list[_triggers.StoredTrigger]:
    cur = await tx.conn.execute(
        "SELECT * FROM triggers WHERE (%s::text IS NULL OR tenant_id = %s)"
        " AND (%s::text IS NULL OR kind = %s) ORDER BY created_at, trigger_id",
        (tenant_id, tenant_id, kind, kind),
    )
    return [_triggers.trigger_of(r, COLUMNS) for r in await cur.fetchall()]


async def update_trigger(
    tx: Tx, trigger_id: str, changes: dict[str, Any]
) -> _triggers.StoredTrigger:
    sets: list[sql.Composable] = [sql.SQL("updated_at = now()")]
    params: list[Any] = []
    for column, value in changes.items():
        sets.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
        params.append(maybe_jsonb(value) if column in _JSON else value)
    if "state" in changes:
        sets.append(sql.SQL("state_version = state_version + 1"))
    query = sql.SQL("UPDATE triggers SET {} WHERE trigger_id = %s RETURNING *").format(
        sql.SQL(", ").join(sets)
    )
    try:
        async with tx.conn.transaction():
            cur = await tx.conn.execute(query, (*params, trigger_id))
    except psycopg.errors.UniqueViolation:
        raise _triggers.duplicate_name(str(changes.get("name"))) from None
    row = await cur.fetchone()
    if row is None:
        raise _triggers.missing_trigger(trigger_id)
    return _triggers.trigger_of(row, COLUMNS)


async def delete_trigger(tx: Tx, trigger_id: str) -> None:
    cur = await tx.conn.execute("DELETE FROM triggers WHERE trigger_id = %s", (trigger_id,))
    if cur.rowcount == 0:
        raise _triggers.missing_trigger(trigger_id)


async def due_triggers(tx: Tx, now: datetime, limit: int) -> list[_triggers.StoredTrigger]:
    # A read only: the claim is `fire_trigger`'s conditional UPDATE, so two processes may both
    # see a due trigger and only one fires it.
    cur = await tx.conn.execute(
        "SELECT * FROM triggers WHERE enabled AND next_due IS NOT NULL AND next_due <= %s"
        " ORDER BY next_due, trigger_id LIMIT %s",
        (now, limit),
    )
    return [_triggers.trigger_of(r, COLUMNS) for r in await cur.fetchall()]


async def fire_trigger(tx: Tx, firing: _triggers.Firing) -> _triggers.FiringResult:
    c = tx.conn
    if firing.claim is not None:
        cur = await c.execute(
            "UPDATE triggers SET next_due = %s WHERE trigger_id = %s AND enabled AND next_due = %s",
            (firing.claim.following, firing.trigger_id, firing.claim.due),
        )
        if cur.rowcount == 0:
            return _triggers.FiringResult(claimed=False)
    started = False
    event = None
    if firing.event_key is not None and firing.run is not None:
        # The ledger row first: a concurrent delivery of the same event waits on the primary
        # key until this transaction ends, then finds the row and queues nothing.
        cur = await c.execute(
            "INSERT INTO trigger_events (trigger_id, event_key, run_id, thread_id)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (trigger_id, event_key) DO NOTHING RETURNING *",
            (firing.trigger_id, firing.event_key, firing.run.run_id, firing.run.thread_id),
        )
        row = await cur.fetchone()
        if row is None:
            cur = await c.execute(
                "SELECT * FROM trigger_events WHERE trigger_id = %s AND event_key = %s",
                (firing.trigger_id, firing.event_key),
            )
            row = await cur.fetchone()
        else:
            await create_run(tx, firing.run)
            await c.execute(
                "UPDATE triggers SET last_fired_at = now(), last_error = NULL"
                " WHERE trigger_id = %s",
                (firing.trigger_id,),
            )
            started = True
        event = None if row is None else _triggers.event_of(row, COLUMNS)
    if firing.observed is not None:
        o = firing.observed
        cur = await c.execute(
            "UPDATE triggers SET state = %s, state_version = state_version + 1"
            " WHERE trigger_id = %s AND state_version = %s",
            (jsonb(o.state), firing.trigger_id, o.version),
        )
        if cur.rowcount == 0:
            raise _triggers.stale_state(firing.trigger_id, o.version)
        await c.execute(
            "INSERT INTO trigger_observations (trigger_id, value, row_count, fired)"
            " VALUES (%s, %s, %s, %s)",
            (firing.trigger_id, maybe_jsonb(o.value), o.row_count, started),
        )
    return _triggers.FiringResult(claimed=True, event=event, started=started)


async def record_trigger_error(tx: Tx, trigger_id: str, error: str) -> None:
    await tx.conn.execute(
        "UPDATE triggers SET last_error = %s, last_error_at = now() WHERE trigger_id = %s",
        (error, trigger_id),
    )


async def record_trigger_fired(tx: Tx, trigger_id: str) -> None:
    await tx.conn.execute(
        "UPDATE triggers SET last_fired_at = now(), last_error = NULL WHERE trigger_id = %s",
        (trigger_id,),
    )


async def trigger_events(tx: Tx, trigger_id: str) -> list[_triggers.TriggerEvent]:
    cur = await tx.conn.execute(
        "SELECT * FROM trigger_events WHERE trigger_id = %s ORDER BY created_at, event_key",
        (trigger_id,),
    )
    return [_triggers.event_of(r, COLUMNS) for r in await cur.fetchall()]


async def trigger_observations(
    tx: Tx, trigger_id: str, limit: int
) -> list[_triggers.TriggerObservation]:
    cur = await tx.conn.execute(
        "SELECT * FROM trigger_observations WHERE trigger_id = %s ORDER BY seq DESC LIMIT %s",
        (trigger_id, limit),
    )
    return [_triggers.observation_of(r, COLUMNS) for r in await cur.fetchall()]
