"""Threads on PostgreSQL, and how a thread's status follows the runs in flight on it."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import INFLIGHT_SQL
from agent_ops.storage._requests import NewThread
from agent_ops.storage.postgres.audit import audit_ctes, prepare
from agent_ops.storage.postgres.rows import (
    COLUMNS,
    Tx,
    insert_new,
    jsonb,
    maybe_jsonb,
    no_transaction,
    one,
)
from agent_ops.storage.records import AuditEntry, Thread
from agent_ops.types import Json

# The thread and its audit row in one statement (the chain's head after the thread's row).
_INSERT = (
    "WITH added AS (INSERT INTO threads (thread_id, tenant_id, owner, metadata)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (thread_id) DO NOTHING RETURNING *),"
    f" {audit_ctes('added')} SELECT added.* FROM added"
)


@no_transaction
async def create_thread(
    tx: Tx, new: NewThread, if_exists: str, audit: AuditEntry | None = None
) -> Thread:
    """One statement in autocommit: the thread and its audit row commit together (it raises no
    wake-ups); reading a thread that was there already needs no isolation from it."""
    params = (*new.params(jsonb), *prepare(audit)[1])
    row = await insert_new(tx, _INSERT, params, if_exists, "thread", new.thread_id)
    if row is None:
        return await get_thread(tx, new.thread_id)
    return rec.thread(row, COLUMNS)


@no_transaction
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
    await delete_checkpoints(tx, thread_id)


async def copy_thread(tx: Tx, thread_id: str, new_thread_id: str) -> Thread:
    cur = await tx.conn.execute(
        'INSERT INTO threads (thread_id, tenant_id, owner, status, metadata, "values",'
        " interrupts) SELECT %s, tenant_id, owner,"
        f' {_policy.COPY_STATUS_SQL}, metadata, "values", interrupts FROM threads'
        " WHERE thread_id = %s RETURNING *",
        (new_thread_id, thread_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise _policy.missing("thread", thread_id)
    await copy_checkpoints(tx, thread_id, new_thread_id)
    return rec.thread(row, COLUMNS)


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


# -- checkpoints: the official PostgresSaver's tables, in the same database ----------------------
_CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


async def delete_checkpoints(tx: Tx, thread_id: str, run_id: str | None = None) -> None:
    """Delete the thread's checkpoints with their pending writes and blobs (only those `run_id`
    wrote, and the blobs no remaining checkpoint refers to, when given) in the caller's
    transaction."""
    c = tx.conn
    if run_id is None:
        for table in _CHECKPOINT_TABLES:
            await c.execute(f"DELETE FROM {table} WHERE thread_id = %s", (thread_id,))
        return
    await c.execute(
        "DELETE FROM checkpoint_writes w USING checkpoints c WHERE c.thread_id = %(t)s"
        " AND c.metadata ->> 'run_id' = %(r)s AND w.thread_id = c.thread_id"
        " AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id",
        {"t": thread_id, "r": run_id},
    )
    await c.execute(
        "DELETE FROM checkpoints WHERE thread_id = %s AND metadata ->> 'run_id' = %s",
        (thread_id, run_id),
    )
    # Blobs are shared between checkpoints by channel version: drop only those no checkpoint
    # of the thread refers to any more.
    await c.execute(
        "DELETE FROM checkpoint_blobs b WHERE b.thread_id = %(t)s AND NOT EXISTS ("
        " SELECT 1 FROM checkpoints c, jsonb_each_text(c.checkpoint -> 'channel_versions') v"
        " WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns"
        " AND v.key = b.channel AND v.value = b.version)",
        {"t": thread_id},
    )


async def copy_checkpoints(tx: Tx, thread_id: str, new_thread_id: str) -> None:
    """Copy every checkpoint, blob and pending write of a thread, as they are, to another
    thread id.

    The columns are read from the saver's own tables, so a column a newer saver adds is copied
    too."""
    for table in _CHECKPOINT_TABLES:
        cur = await tx.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = %s AND column_name <> 'thread_id'"
            " ORDER BY ordinal_position",
            (table,),
        )
        columns = ", ".join(f'"{row["column_name"]}"' for row in await cur.fetchall())
        await tx.conn.execute(
            f"INSERT INTO {table} (thread_id, {columns}) SELECT %s, {columns} FROM {table}"
            " WHERE thread_id = %s",
            (new_thread_id, thread_id),
        )
