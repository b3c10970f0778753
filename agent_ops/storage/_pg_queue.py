"""Runs, the queue and stream events on PostgreSQL, as functions over one open transaction.

Claims lock with `FOR NO KEY UPDATE SKIP LOCKED`, so any number of workers in any number of
processes take distinct runs without waiting on each other (NO KEY: appending events, which
references the run, does not block a claim); a thread's runs still go one at a time, oldest first.

Lock order keeps concurrent transactions free of deadlocks: a thread row before its runs. The one
path that holds a run first (a claim ending an exhausted run) only tries the thread with SKIP
LOCKED and leaves the run to a later claim when the thread is busy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agent_ops.errors import Conflict, InvalidInput, NotFound
from agent_ops.storage._pg_rows import INFLIGHT, Tx, jsonb, run_from_row
from agent_ops.storage.protocol import RUN_CANCEL, RUN_DONE, RUN_QUEUED
from agent_ops.storage.records import LeaseState, QueueStats, Run, RunEvent, ThreadEvent
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, TERMINAL_RUN_STATUSES, Json

# The oldest runnable run whose thread is free: nothing running there under a live lease and no
# older in-flight run queued ahead of it. An expired running run is itself the oldest in flight.
_NEXT_RUNNABLE = f"""
SELECT r.* FROM runs r
WHERE r.status IN {INFLIGHT}
  AND ((r.status = 'pending' AND r.not_before <= now())
       OR (r.status = 'running' AND r.lease_expires_at < now()))
  AND NOT EXISTS (
    SELECT 1 FROM runs o
    WHERE o.thread_id = r.thread_id AND o.run_id <> r.run_id AND o.status IN {INFLIGHT}
      AND ((o.status = 'running' AND o.lease_expires_at >= now())
           OR (o.created_at, o.run_id) < (r.created_at, r.run_id)))
  AND r.run_id <> ALL(%s)
ORDER BY r.created_at, r.run_id
LIMIT 1
FOR NO KEY UPDATE OF r SKIP LOCKED
"""


async def _next_inflight(tx: Tx, thread_id: str) -> str | None:
    cur = await tx.conn.execute(
        f"SELECT run_id FROM runs WHERE thread_id = %s AND status IN {INFLIGHT}"
        " ORDER BY created_at, run_id LIMIT 1",
        (thread_id,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["run_id"])


async def _lock_thread_of(tx: Tx, run_id: str) -> bool:
    """Lock the thread of a run (threads before runs); False if the run is gone."""
    cur = await tx.conn.execute(
        "SELECT t.thread_id FROM threads t JOIN runs r USING (thread_id) WHERE r.run_id = %s"
        " FOR NO KEY UPDATE OF t",
        (run_id,),
    )
    return await cur.fetchone() is not None


async def settle_thread(tx: Tx, thread_id: str, outcome: str, error: str | None = None) -> None:
    """Set the thread's status after a run ended: busy while another run is in flight."""
    await tx.conn.execute(
        f"""
        UPDATE threads SET
          status = CASE WHEN EXISTS (SELECT 1 FROM runs WHERE thread_id = %(t)s
                                     AND status IN {INFLIGHT}) THEN 'busy' ELSE %(outcome)s END,
          error = %(error)s, updated_at = now()
        WHERE thread_id = %(t)s
        """,
        {"t": thread_id, "outcome": outcome, "error": error},
    )


async def _settle_after_cancel(tx: Tx, thread_id: str) -> None:
    cur = await tx.conn.execute(
        "SELECT interrupts <> '{}'::jsonb AS waiting FROM threads WHERE thread_id = %s",
        (thread_id,),
    )
    row = await cur.fetchone()
    await settle_thread(tx, thread_id, "interrupted" if row and row["waiting"] else "idle")


async def create_run(
    tx: Tx,
    *,
    run_id: str,
    thread_id: str,
    assistant_id: str,
    kwargs: Json,
    metadata: Json,
    multitask_strategy: str,
    if_not_exists: str,
    after_seconds: float,
    stateless: bool,
    thread_metadata: Json,
) -> Run:
    """Queue a run, applying the multitask strategy to the runs in flight on its thread."""
    # Locking the thread row serialises run creation per thread, so two concurrent `reject`
    # requests cannot both see an idle thread.
    cur = await tx.conn.execute(
        "SELECT thread_id FROM threads WHERE thread_id = %s FOR NO KEY UPDATE", (thread_id,)
    )
    if await cur.fetchone() is None:
        if if_not_exists != "create":
            raise NotFound(f"thread {thread_id} not found; use if_not_exists='create' to create it")
        await tx.conn.execute(
            "INSERT INTO threads (thread_id, tenant_id, owner, status, metadata)"
            " VALUES (%s, %s, %s, 'busy', %s)"
            " ON CONFLICT (thread_id) DO NOTHING",
            (thread_id, DEFAULT_TENANT, DEFAULT_OWNER, jsonb(thread_metadata)),
        )
        await tx.conn.execute(
            "SELECT 1 FROM threads WHERE thread_id = %s FOR NO KEY UPDATE", (thread_id,)
        )
    elif thread_metadata:
        # The thread learns which graph it belongs to; keys it already has win.
        await tx.conn.execute(
            "UPDATE threads SET metadata = %s::jsonb || metadata WHERE thread_id = %s",
            (jsonb(thread_metadata), thread_id),
        )
    cur = await tx.conn.execute(
        f"SELECT run_id, status FROM runs WHERE thread_id = %s AND status IN {INFLIGHT}"
        " ORDER BY created_at, run_id FOR NO KEY UPDATE",
        (thread_id,),
    )
    inflight = await cur.fetchall()
    if inflight and multitask_strategy == "reject":
        busy = inflight[0]
        raise Conflict(
            f"thread {thread_id} is busy (run {busy['run_id']} is {busy['status']}); use "
            "multitask_strategy=enqueue to queue, or interrupt/rollback to replace it"
        )
    if multitask_strategy in ("interrupt", "rollback"):
        for other in inflight:
            if other["status"] == "running":
                await tx.conn.execute(
                    "UPDATE runs SET cancel_action = %s, updated_at = now() WHERE run_id = %s",
                    (multitask_strategy, other["run_id"]),
                )
                await tx.notify(RUN_CANCEL, other["run_id"])
            else:
                await tx.conn.execute(
                    "UPDATE runs SET status = 'interrupted', error = %s, finished_at = now(),"
                    " updated_at = now() WHERE run_id = %s",
                    (
                        f"cancelled by run {run_id} (multitask_strategy={multitask_strategy})",
                        other["run_id"],
                    ),
                )
                await tx.notify(RUN_DONE, other["run_id"])
    cur = await tx.conn.execute(
        """
        INSERT INTO runs (run_id, thread_id, assistant_id, tenant_id, owner, status, metadata,
                          kwargs, multitask_strategy, stateless, not_before)
        VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s,
                now() + make_interval(secs => %s))
        ON CONFLICT (run_id) DO NOTHING
        RETURNING *
        """,
        (
            run_id,
            thread_id,
            assistant_id,
            DEFAULT_TENANT,
            DEFAULT_OWNER,
            jsonb(metadata),
            jsonb(kwargs),
            multitask_strategy,
            stateless,
            after_seconds,
        ),
    )
    row = await cur.fetchone()
    if row is None:
        raise Conflict(f"run {run_id} already exists")
    await tx.conn.execute(
        "UPDATE threads SET status = 'busy', updated_at = now() WHERE thread_id = %s", (thread_id,)
    )
    await tx.notify(RUN_QUEUED, run_id)
    return run_from_row(row)


async def get_run(tx: Tx, run_id: str, thread_id: str | None, *, lock: str = "") -> Run:
    """Return the run, optionally locked (`lock` is a row-lock clause such as FOR UPDATE)."""
    cur = await tx.conn.execute(f"SELECT * FROM runs WHERE run_id = %s {lock}", (run_id,))
    row = await cur.fetchone()
    if row is None or (thread_id is not None and row["thread_id"] != thread_id):
        where = f" on thread {thread_id}" if thread_id else ""
        raise NotFound(f"run {run_id} not found{where}")
    return run_from_row(row)


async def list_runs(
    tx: Tx, thread_id: str, limit: int, offset: int, status: str | None
) -> list[Run]:
    cur = await tx.conn.execute("SELECT 1 FROM threads WHERE thread_id = %s", (thread_id,))
    if await cur.fetchone() is None:
        raise NotFound(f"thread {thread_id} not found")
    query = "SELECT * FROM runs WHERE thread_id = %s"
    params: list[Any] = [thread_id]
    if status is not None:
        query += " AND status = %s"
        params.append(status)
    query += " ORDER BY created_at DESC, run_id DESC LIMIT %s OFFSET %s"
    cur = await tx.conn.execute(query, (*params, limit, offset))
    return [run_from_row(r) for r in await cur.fetchall()]


async def delete_run(tx: Tx, run_id: str, thread_id: str | None) -> None:
    run = await get_run(tx, run_id, thread_id, lock="FOR UPDATE")
    if run.status in ("pending", "running"):
        raise Conflict(f"run {run_id} is {run.status}; cancel it before deleting it")
    await tx.conn.execute("DELETE FROM runs WHERE run_id = %s", (run_id,))


async def claim_run(tx: Tx, worker_id: str, lease_seconds: float, max_attempts: int) -> Run | None:
    """Claim the next runnable run, ending abandoned runs that used all their attempts."""
    passed: list[str] = []
    while True:
        cur = await tx.conn.execute(_NEXT_RUNNABLE, (passed,))
        row = await cur.fetchone()
        if row is None:
            return None
        if row["status"] == "running" and row["attempt"] >= max_attempts:
            cur = await tx.conn.execute(
                "SELECT 1 FROM threads WHERE thread_id = %s FOR NO KEY UPDATE SKIP LOCKED",
                (row["thread_id"],),
            )
            if await cur.fetchone() is None:
                passed.append(row["run_id"])
                continue
            reason = (
                f"run abandoned: worker {row['worker_id']} stopped heartbeating; "
                f"gave up after {row['attempt']} attempts"
            )
            await tx.conn.execute(
                "UPDATE runs SET status = 'error', error = %s, finished_at = now(),"
                " updated_at = now(), lease_expires_at = NULL WHERE run_id = %s",
                (reason, row["run_id"]),
            )
            await settle_thread(tx, row["thread_id"], "error", reason)
            await tx.notify(RUN_DONE, row["run_id"])
            continue
        cur = await tx.conn.execute(
            "UPDATE runs SET status = 'running', worker_id = %s,"
            " lease_expires_at = now() + make_interval(secs => %s), attempt = attempt + 1,"
            " updated_at = now() WHERE run_id = %s RETURNING *",
            (worker_id, lease_seconds, row["run_id"]),
        )
        claimed = await cur.fetchone()
        assert claimed is not None
        return run_from_row(claimed)


async def renew_lease(tx: Tx, run_id: str, worker_id: str, lease_seconds: float) -> LeaseState:
    cur = await tx.conn.execute(
        "UPDATE runs SET lease_expires_at = now() + make_interval(secs => %s)"
        " WHERE run_id = %s AND worker_id = %s AND status = 'running' RETURNING cancel_action",
        (lease_seconds, run_id, worker_id),
    )
    row = await cur.fetchone()
    if row is None:
        return LeaseState(held=False)
    return LeaseState(held=True, cancel_action=row["cancel_action"])


async def finish_run(
    tx: Tx,
    run_id: str,
    worker_id: str,
    status: str,
    error: str | None,
    values: Json | None,
    interrupts: Json | None,
    output: Json | None,
) -> Run | None:
    """End a run held by `worker_id` and settle its thread; None when the lease was lost."""
    if status not in TERMINAL_RUN_STATUSES:
        raise InvalidInput(f"cannot finish run {run_id} with status {status!r}; it is not final")
    if not await _lock_thread_of(tx, run_id):
        return None
    cur = await tx.conn.execute(
        "UPDATE runs SET status = %s, error = %s, output = %s, finished_at = now(),"
        " updated_at = now(), lease_expires_at = NULL"
        " WHERE run_id = %s AND worker_id = %s AND status = 'running' RETURNING *",
        (status, error, None if output is None else jsonb(output), run_id, worker_id),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    finished = run_from_row(row)
    thread_id = finished.thread_id
    cur = await tx.conn.execute(
        'UPDATE threads SET "values" = COALESCE(%s, "values"),'
        " interrupts = COALESCE(%s, interrupts), state_updated_at = now()"
        " WHERE thread_id = %s RETURNING interrupts <> '{}'::jsonb AS waiting",
        (
            None if values is None else jsonb(values),
            None if interrupts is None else jsonb(interrupts),
            thread_id,
        ),
    )
    thread = await cur.fetchone()
    if status == "success":
        outcome = "idle"
    elif status == "interrupted":
        outcome = "interrupted" if thread is not None and thread["waiting"] else "idle"
    else:
        outcome = "error"
    await settle_thread(tx, thread_id, outcome, error if outcome == "error" else None)
    await tx.notify(RUN_DONE, run_id)
    following = await _next_inflight(tx, thread_id)
    if following is not None:
        await tx.notify(RUN_QUEUED, following)
    return finished


async def rollback_run(
    tx: Tx, run_id: str, worker_id: str, values: Json | None, interrupts: Json
) -> bool:
    """Delete a running run with its events and checkpoints; restore its thread's state."""
    if not await _lock_thread_of(tx, run_id):
        return False
    cur = await tx.conn.execute(
        "DELETE FROM runs WHERE run_id = %s AND worker_id = %s AND status = 'running'"
        " RETURNING thread_id",
        (run_id, worker_id),
    )
    row = await cur.fetchone()
    if row is None:
        return False
    thread_id: str = row["thread_id"]
    await tx.conn.execute(
        "DELETE FROM checkpoint_writes w USING checkpoints c WHERE c.thread_id = %(t)s"
        " AND c.metadata ->> 'run_id' = %(r)s AND w.thread_id = c.thread_id"
        " AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id",
        {"t": thread_id, "r": run_id},
    )
    await tx.conn.execute(
        "DELETE FROM checkpoints WHERE thread_id = %s AND metadata ->> 'run_id' = %s",
        (thread_id, run_id),
    )
    # Blobs are shared between checkpoints by channel version: drop only those no checkpoint
    # of the thread refers to any more.
    await tx.conn.execute(
        "DELETE FROM checkpoint_blobs b WHERE b.thread_id = %(t)s AND NOT EXISTS ("
        " SELECT 1 FROM checkpoints c, jsonb_each_text(c.checkpoint -> 'channel_versions') v"
        " WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns"
        " AND v.key = b.channel AND v.value = b.version)",
        {"t": thread_id},
    )
    await tx.conn.execute(
        'UPDATE threads SET "values" = %s, interrupts = %s, state_updated_at = now()'
        " WHERE thread_id = %s",
        (None if values is None else jsonb(values), jsonb(interrupts), thread_id),
    )
    await settle_thread(tx, thread_id, "interrupted" if interrupts else "idle")
    await tx.notify(RUN_DONE, run_id)
    following = await _next_inflight(tx, thread_id)
    if following is not None:
        await tx.notify(RUN_QUEUED, following)
    return True


async def release_run(tx: Tx, run_id: str, worker_id: str) -> bool:
    cur = await tx.conn.execute(
        "UPDATE runs SET status = 'pending', worker_id = NULL, lease_expires_at = NULL,"
        " attempt = GREATEST(attempt - 1, 0), updated_at = now()"
        " WHERE run_id = %s AND worker_id = %s AND status = 'running' RETURNING run_id",
        (run_id, worker_id),
    )
    if await cur.fetchone() is None:
        return False
    await tx.notify(RUN_QUEUED, run_id)
    return True


async def cancel_runs(
    tx: Tx, run_ids: Sequence[str], thread_id: str | None, action: str
) -> list[Run]:
    """Cancel in-flight runs; return every named run as it is after the change."""
    after: list[Run] = []
    for run_id in run_ids:
        await _lock_thread_of(tx, run_id)
        run = await get_run(tx, run_id, thread_id, lock="FOR NO KEY UPDATE")
        if run.status == "running":
            cur = await tx.conn.execute(
                "UPDATE runs SET cancel_action = %s, updated_at = now() WHERE run_id = %s"
                " RETURNING *",
                (action, run_id),
            )
            await tx.notify(RUN_CANCEL, run_id)
        elif run.status == "pending":
            cur = await tx.conn.execute(
                "UPDATE runs SET status = 'interrupted', error = 'cancelled before it started',"
                " finished_at = now(), updated_at = now() WHERE run_id = %s RETURNING *",
                (run_id,),
            )
            await _settle_after_cancel(tx, run.thread_id)
            await tx.notify(RUN_DONE, run_id)
            following = await _next_inflight(tx, run.thread_id)
            if following is not None:
                await tx.notify(RUN_QUEUED, following)
        else:
            after.append(run)
            continue
        row = await cur.fetchone()
        assert row is not None
        after.append(run_from_row(row))
    return after


async def append_events(tx: Tx, run_id: str, events: Sequence[RunEvent]) -> None:
    cur = await tx.conn.execute("SELECT 1 FROM runs WHERE run_id = %s", (run_id,))
    if await cur.fetchone() is None:
        raise NotFound(f"run {run_id} not found")
    async with tx.conn.cursor() as c:
        await c.executemany(
            "INSERT INTO run_events (run_id, seq, event, data) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (run_id, seq) DO NOTHING",
            [(run_id, e.seq, e.event, e.data) for e in events],
        )


async def read_events(tx: Tx, run_id: str, after_seq: int) -> list[RunEvent]:
    cur = await tx.conn.execute(
        "SELECT seq, event, data FROM run_events WHERE run_id = %s AND seq > %s ORDER BY seq",
        (run_id, after_seq),
    )
    return [RunEvent(r["seq"], r["event"], bytes(r["data"])) for r in await cur.fetchall()]


async def delete_events(tx: Tx, finished_before: datetime) -> int:
    cur = await tx.conn.execute(
        "DELETE FROM run_events e USING runs r WHERE e.run_id = r.run_id"
        f" AND r.status NOT IN {INFLIGHT} AND r.finished_at < %s",
        (finished_before,),
    )
    removed = cur.rowcount
    cur = await tx.conn.execute(
        "DELETE FROM thread_events WHERE created_at < %s", (finished_before,)
    )
    return removed + cur.rowcount


async def append_thread_event(
    tx: Tx, thread_id: str, event_id: str, event: str, data: bytes
) -> ThreadEvent:
    cur = await tx.conn.execute("SELECT 1 FROM threads WHERE thread_id = %s", (thread_id,))
    if await cur.fetchone() is None:
        raise NotFound(f"thread {thread_id} not found")
    cur = await tx.conn.execute(
        "INSERT INTO thread_events (thread_id, event_id, event, data) VALUES (%s, %s, %s, %s)"
        " RETURNING created_at",
        (thread_id, event_id, event, data),
    )
    row = await cur.fetchone()
    assert row is not None
    return ThreadEvent(event_id, event, data, row["created_at"])


async def read_thread_events(tx: Tx, thread_id: str, since: datetime | None) -> list[ThreadEvent]:
    cur = await tx.conn.execute(
        "SELECT event_id, event, data, created_at FROM thread_events WHERE thread_id = %s"
        " AND (%s::timestamptz IS NULL OR created_at >= %s) ORDER BY created_at, event_id",
        (thread_id, since, since),
    )
    return [
        ThreadEvent(r["event_id"], r["event"], bytes(r["data"]), r["created_at"])
        for r in await cur.fetchall()
    ]


async def purge_stateless_threads(tx: Tx, finished_before: datetime) -> list[str]:
    cur = await tx.conn.execute(
        "DELETE FROM threads t WHERE EXISTS (SELECT 1 FROM runs r"
        " WHERE r.thread_id = t.thread_id AND r.stateless"
        " AND COALESCE(r.kwargs ->> 'on_completion', 'delete') = 'delete')"
        " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.thread_id"
        f" AND (r.status IN {INFLIGHT} OR r.finished_at >= %s OR NOT r.stateless))"
        " RETURNING t.thread_id",
        (finished_before,),
    )
    return [row["thread_id"] for row in await cur.fetchall()]


async def heartbeat_worker(tx: Tx, worker_id: str, hostname: str, pid: int) -> None:
    await tx.conn.execute(
        "INSERT INTO workers (worker_id, hostname, pid) VALUES (%s, %s, %s)"
        " ON CONFLICT (worker_id) DO UPDATE SET hostname = excluded.hostname,"
        " pid = excluded.pid, heartbeat_at = now()",
        (worker_id, hostname, pid),
    )


async def queue_stats(tx: Tx, live_within_seconds: float) -> QueueStats:
    cur = await tx.conn.execute("SELECT status, count(*) AS n FROM runs GROUP BY status")
    by_status = {r["status"]: int(r["n"]) for r in await cur.fetchall()}
    cur = await tx.conn.execute(
        """
        SELECT
          (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM runs
           WHERE status = 'pending' AND not_before <= now()) AS oldest,
          (SELECT count(*) FROM workers
           WHERE heartbeat_at >= now() - make_interval(secs => %s)) AS live
        """,
        (live_within_seconds,),
    )
    row = await cur.fetchone()
    assert row is not None
    return QueueStats(
        runs_by_status=by_status,
        pending=by_status.get("pending", 0),
        oldest_pending_age_seconds=max(0.0, float(row["oldest"])),
        live_workers=int(row["live"]),
    )
