"""Triggers on SQLite: their rows, the claim of a due time, the idempotency ledger, a
threshold's observations. BEGIN IMMEDIATE serialises writers, so the conditional UPDATE of
`next_due` hands each due time to one transaction."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from agent_ops.storage import _triggers
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, dumps, epoch, maybe_dumps
from agent_ops.storage.sqlite.runs import create_run

_JSON = frozenset({"spec", "input_mapping", "state"})


def create_trigger(tx: Tx, new: _triggers.NewTrigger) -> _triggers.StoredTrigger:
    try:
        row = tx.conn.execute(
            "INSERT INTO triggers (trigger_id, tenant_id, owner, name, kind, assistant_id,"
            " enabled, spec, input_mapping, business_key, multitask_strategy, secret, next_due,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING *",
            (*new.params(maybe_dumps, epoch), tx.now, tx.now),
        ).fetchone()
    except sqlite3.IntegrityError:
        raise _triggers.duplicate_name(new.name) from None
    return _triggers.trigger_of(row, COLUMNS)


def get_trigger(tx: Tx, trigger_id: str) -> _triggers.StoredTrigger:
    row = tx.conn.execute("SELECT * FROM triggers WHERE trigger_id = ?", (trigger_id,)).fetchone()
    if row is None:
        raise _triggers.missing_trigger(trigger_id)
    return _triggers.trigger_of(row, COLUMNS)


def list_triggers(tx: Tx, tenant_id: str | None, kind: str | None) -> list[_triggers.StoredTrigger]:
    rows = tx.conn.execute(
        "SELECT * FROM triggers WHERE (? IS NULL OR tenant_id = ?) AND (? IS NULL OR kind = ?)"
        " ORDER BY created_at, trigger_id",
        (tenant_id, tenant_id, kind, kind),
    )
    return [_triggers.trigger_of(r, COLUMNS) for r in rows]


def update_trigger(tx: Tx, trigger_id: str, changes: dict[str, Any]) -> _triggers.StoredTrigger:
    sets: list[str] = ["updated_at = ?"]
    params: list[Any] = [tx.now]
    for column, value in changes.items():
        sets.append(f"{column} = ?")
        if column in _JSON:
            params.append(maybe_dumps(value))
        elif column == "next_due":
            params.append(epoch(value))
        elif column == "enabled":
            params.append(int(value))
        else:
            params.append(value)
    if "state" in changes:
        sets.append("state_version = state_version + 1")
    try:
        row = tx.conn.execute(
            f"UPDATE triggers SET {', '.join(sets)} WHERE trigger_id = ? RETURNING *",
            (*params, trigger_id),
        ).fetchone()
    except sqlite3.IntegrityError:
        raise _triggers.duplicate_name(str(changes.get("name"))) from None
    if row is None:
        raise _triggers.missing_trigger(trigger_id)
    return _triggers.trigger_of(row, COLUMNS)


def delete_trigger(tx: Tx, trigger_id: str) -> None:
    if tx.conn.execute("DELETE FROM triggers WHERE trigger_id = ?", (trigger_id,)).rowcount == 0:
        raise _triggers.missing_trigger(trigger_id)


def due_triggers(tx: Tx, now: datetime, limit: int) -> list[_triggers.StoredTrigger]:
    rows = tx.conn.execute(
        "SELECT * FROM triggers WHERE enabled AND next_due IS NOT NULL AND next_due <= ?"
        " ORDER BY next_due, trigger_id LIMIT ?",
        (now.timestamp(), limit),
    )
    return [_triggers.trigger_of(r, COLUMNS) for r in rows]


def fire_trigger(tx: Tx, firing: _triggers.Firing) -> _triggers.FiringResult:
    c = tx.conn
    if firing.claim is not None:
        won = c.execute(
            "UPDATE triggers SET next_due = ? WHERE trigger_id = ? AND enabled AND next_due = ?",
            (epoch(firing.claim.following), firing.trigger_id, epoch(firing.claim.due)),
        ).rowcount
        if not won:
            return _triggers.FiringResult(claimed=False)
    started = False
    event = None
    if firing.event_key is not None and firing.run is not None:
        row = c.execute(
            "SELECT * FROM trigger_events WHERE trigger_id = ? AND event_key = ?",
            (firing.trigger_id, firing.event_key),
        ).fetchone()
        if row is None:
            create_run(tx, firing.run)
            row = c.execute(
                "INSERT INTO trigger_events (trigger_id, event_key, run_id, thread_id, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                (
                    firing.trigger_id,
                    firing.event_key,
                    firing.run.run_id,
                    firing.run.thread_id,
                    tx.now,
                ),
            ).fetchone()
            c.execute(
                "UPDATE triggers SET last_fired_at = ?, last_error = NULL WHERE trigger_id = ?",
                (tx.now, firing.trigger_id),
            )
            started = True
        event = _triggers.event_of(row, COLUMNS)
    if firing.observed is not None:
        o = firing.observed
        won = c.execute(
            "UPDATE triggers SET state = ?, state_version = state_version + 1"
            " WHERE trigger_id = ? AND state_version = ?",
            (dumps(o.state), firing.trigger_id, o.version),
        ).rowcount
        if not won:
            # Another poll wrote a newer state: this one is stale. Raising rolls back the run
            # this transaction may have queued with it.
            raise _triggers.stale_state(firing.trigger_id, o.version)
        c.execute(
            "INSERT INTO trigger_observations (trigger_id, observed_at, value, row_count, fired)"
            " VALUES (?, ?, ?, ?, ?)",
            (firing.trigger_id, tx.now, maybe_dumps(o.value), o.row_count, int(started)),
        )
    return _triggers.FiringResult(claimed=True, event=event, started=started)


def record_trigger_error(tx: Tx, trigger_id: str, error: str) -> None:
    tx.conn.execute(
        "UPDATE triggers SET last_error = ?, last_error_at = ? WHERE trigger_id = ?",
        (error, tx.now, trigger_id),
    )


def record_trigger_fired(tx: Tx, trigger_id: str) -> None:
    tx.conn.execute(
        "UPDATE triggers SET last_fired_at = ?, last_error = NULL WHERE trigger_id = ?",
        (tx.now, trigger_id),
    )


def trigger_events(tx: Tx, trigger_id: str) -> list[_triggers.TriggerEvent]:
    rows = tx.conn.execute(
        "SELECT * FROM trigger_events WHERE trigger_id = ? ORDER BY created_at, event_key",
        (trigger_id,),
    )
    return [_triggers.event_of(r, COLUMNS) for r in rows]


def trigger_observations(tx: Tx, trigger_id: str, limit: int) -> list[_triggers.TriggerObservation]:
    rows = tx.conn.execute(
        "SELECT * FROM trigger_observations WHERE trigger_id = ? ORDER BY seq DESC LIMIT ?",
        (trigger_id, limit),
    )
    return [_triggers.observation_of(r, COLUMNS) for r in rows]
