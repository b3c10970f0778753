"""Stream events on PostgreSQL: a run's server-sent events, a thread's events outside runs, and
the clean-up of both (and of the threads stateless runs leave behind)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agent_ops.storage import _policy
from agent_ops.storage._policy import INFLIGHT_SQL
from agent_ops.storage.channels import RUN_EVENTS, THREAD_EVENTS
from agent_ops.storage.postgres.rows import COLUMNS, NOTIFY_CHANNEL, Tx, no_transaction, notes
from agent_ops.storage.postgres.threads import delete_checkpoints
from agent_ops.storage.records import RunEvent, ThreadEvent


@no_transaction
async def append_events(tx: Tx, run_id: str, events: Sequence[RunEvent]) -> None:
    # One statement: the batch goes in whole or not at all, and only for a known run; it also
    # wakes the other processes' streams (RUN_EVENTS), only when it added.
    tx.notify(RUN_EVENTS, run_id)
    cur = await tx.conn.execute(
        "WITH known AS (SELECT 1 FROM runs WHERE run_id = %(run)s),"
        " added AS (INSERT INTO run_events (run_id, seq, event, data)"
        " SELECT %(run)s, e.seq, e.event, e.data"
        " FROM unnest(%(seq)s::bigint[], %(event)s::text[], %(data)s::bytea[]) AS e(seq, event, data)"
        " WHERE EXISTS (SELECT 1 FROM known) ON CONFLICT (run_id, seq) DO NOTHING)"
        " SELECT EXISTS (SELECT 1 FROM known) AS known,"
        " (SELECT count(pg_notify(%(channel)s, note)) FROM unnest(%(notes)s::text[]) AS note"
        " WHERE EXISTS (SELECT 1 FROM known)) AS notified",
        {
            "run": run_id,
            "seq": [e.seq for e in events],
            "event": [e.event for e in events],
            "data": [e.data for e in events],
            "channel": NOTIFY_CHANNEL,
            "notes": notes(tx),
        },
    )
    row = await cur.fetchone()
    if row is None or not row["known"]:
        raise _policy.missing("run", run_id)


@no_transaction
async def read_events(tx: Tx, run_id: str, after_seq: int) -> list[RunEvent]:
    cur = await tx.conn.execute(
        "SELECT seq, event, data FROM run_events WHERE run_id = %s AND seq > %s ORDER BY seq",
        (run_id, after_seq),
    )
    return [RunEvent(r["seq"], r["event"], bytes(r["data"])) for r in await cur.fetchall()]


async def delete_events(tx: Tx, finished_before: datetime) -> int:
    runs = await tx.conn.execute(
        "DELETE FROM run_events e USING runs r WHERE e.run_id = r.run_id"
        f" AND r.status NOT IN {INFLIGHT_SQL} AND r.finished_at < %s",
        (finished_before,),
    )
    threads = await tx.conn.execute(
        "DELETE FROM thread_events WHERE created_at < %s", (finished_before,)
    )
    return runs.rowcount + threads.rowcount


async def append_thread_event(
    tx: Tx, thread_id: str, event_id: str, event: str, data: bytes
) -> ThreadEvent:
    cur = await tx.conn.execute(
        "INSERT INTO thread_events (thread_id, event_id, event, data)"
        " SELECT thread_id, %s, %s, %s FROM threads WHERE thread_id = %s RETURNING created_at",
        (event_id, event, data, thread_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise _policy.missing("thread", thread_id)
    tx.notify(THREAD_EVENTS, thread_id)
    return ThreadEvent(event_id, event, data, COLUMNS.time(row["created_at"]))


async def read_thread_events(tx: Tx, thread_id: str, since: datetime | None) -> list[ThreadEvent]:
    cur = await tx.conn.execute(
        "SELECT event_id, event, data, created_at FROM thread_events WHERE thread_id = %s"
        " AND (%s::timestamptz IS NULL OR created_at >= %s) ORDER BY created_at, event_id",
        (thread_id, since, since),
    )
    return [
        ThreadEvent(r["event_id"], r["event"], bytes(r["data"]), COLUMNS.time(r["created_at"]))
        for r in await cur.fetchall()
    ]


async def purge_stateless_threads(tx: Tx, finished_before: datetime) -> list[str]:
    cur = await tx.conn.execute(
        "DELETE FROM threads t WHERE EXISTS (SELECT 1 FROM runs r"
        " WHERE r.thread_id = t.thread_id AND r.stateless"
        " AND COALESCE(r.kwargs ->> 'on_completion', 'delete') = 'delete')"
        " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.thread_id"
        f" AND (r.status IN {INFLIGHT_SQL} OR r.finished_at >= %s OR NOT r.stateless))"
        " RETURNING t.thread_id",
        (finished_before,),
    )
    ids = [row["thread_id"] for row in await cur.fetchall()]
    for thread_id in ids:
        await delete_checkpoints(tx, thread_id)
    return ids
