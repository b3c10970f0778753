"""Threads on PostgreSQL, and how a thread's status follows the runs in flight on it."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import INFLIGHT_SQL
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb, maybe_jsonb, one
from agent_ops.storage.records import Thread
from agent_ops.types import Json


async def create_thread(
    tx: Tx, thread_id: str, metadata: Json, if_exists: str, tenant_id: str, owner: str
) -> Thread:
    cur = await tx.conn.execute(
        "INSERT INTO threads (thread_id, tenant_id, owner, metadata) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (thread_id) DO NOTHING RETURNING *",
        (thread_id, tenant_id, owner, jsonb(metadata)),
    )
    row = await cur.fetchone()
    if row is None:
        if if_exists == "do_nothing":
            return await get_thread(tx, thread_id)
        raise _policy.exists("thread", thread_id)
    return rec.thread(row, COLUMNS)


async def get_thread(tx: Tx, thread_id: str) -> Thread:
    found = await tx.conn.execute("SELECT * FROM threads WHERE thread_id = %s", (thread_id,))
    return rec.thread(await one(found, _policy.missing("thread", thread_id)), COLUMNS)


async def update_thread(tx: Tx, thread_id: str, metadata: Json) -> Thread:
    found = await tx.conn.execute(
        "UPDATE threads SET metadata = metadata || %s, updated_at = now() WHERE thread_id = %s"
        " RETURNING *",
        (jsonb(metadata), thread_id),
    )
    return rec.thread(await one(found, _policy.missing("thread", thread_id)), COLUMNS)


async def delete_thread(tx: Tx, thread_id: str) -> None:
    gone = await tx.conn.execute(
        "DELETE FROM threads WHERE thread_id = %s RETURNING thread_id", (thread_id,)
    )
    await one(gone, _policy.missing("thread", thread_id))


async def set_thread_state(
    tx: Tx, thread_id: str, values: Json | None, interrupts: Json, status: str | None
) -> Thread:
    changed = await tx.conn.execute(
        'UPDATE threads SET "values" = %s, interrupts = %s, state_updated_at = now(),'
        " updated_at = now() WHERE thread_id = %s RETURNING thread_id",
        (maybe_jsonb(values), jsonb(interrupts), thread_id),
    )
    await one(changed, _policy.missing("thread", thread_id))
    if status is not None:
        await tx.conn.execute(
            "UPDATE threads SET status = %s WHERE thread_id = %s", (status, thread_id)
        )
    else:
        await settle_thread(tx, thread_id, _policy.outcome_of_state(bool(interrupts)))
    return await get_thread(tx, thread_id)


# -- status after a run --------------------------------------------------------------------------
async def next_inflight(tx: Tx, thread_id: str) -> str | None:
    """Return the thread's oldest pending or running run, if any."""
    cur = await tx.conn.execute(
        f"SELECT run_id FROM runs WHERE thread_id = %s AND status IN {INFLIGHT_SQL}"
        " ORDER BY created_at, run_id LIMIT 1",
        (thread_id,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["run_id"])


async def is_waiting(tx: Tx, thread_id: str) -> bool:
    """Whether the thread holds interrupts (a person is asked for something)."""
    cur = await tx.conn.execute(
        "SELECT interrupts <> '{}'::jsonb AS waiting FROM threads WHERE thread_id = %s",
        (thread_id,),
    )
    row = await cur.fetchone()
    return bool(row and row["waiting"])


async def settle_thread(tx: Tx, thread_id: str, outcome: str, error: str | None = None) -> None:
    """Set the thread's status after a run ended: busy while another run is in flight."""
    await tx.conn.execute(
        f"""
        UPDATE threads SET
          status = CASE WHEN EXISTS (SELECT 1 FROM runs WHERE thread_id = %(t)s
                                     AND status IN {INFLIGHT_SQL}) THEN 'busy' ELSE %(outcome)s END,
          error = %(error)s, updated_at = now()
        WHERE thread_id = %(t)s
        """,
        {"t": thread_id, "outcome": outcome, "error": error},
    )
