"""Runs and the queue on PostgreSQL: queuing under a multitask strategy, claims, leases, endings.

Claims lock with `FOR NO KEY UPDATE SKIP LOCKED`, so any number of workers in any number of
processes take distinct runs without waiting on each other (NO KEY: appending events, which
references the run, does not block a claim); a thread's runs still go one at a time, oldest first.

Lock order keeps concurrent transactions free of deadlocks: a thread row before its runs. The one
path that holds a run first (a claim ending an exhausted run) only tries the thread with SKIP
LOCKED and leaves the run to a later claim when the thread is busy.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import INFLIGHT_SQL, NewRun
from agent_ops.storage._requests import Ending
from agent_ops.storage.channels import RUN_CANCEL, RUN_DONE, RUN_QUEUED
from agent_ops.storage.postgres import outbox
from agent_ops.storage.postgres.audit import append_entry
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb, maybe_jsonb, no_transaction
from agent_ops.storage.postgres.threads import (
    delete_checkpoints,
    is_waiting,
    next_inflight,
    settle_thread,
)
from agent_ops.storage.records import AuditEntry, LeaseState, Run
from agent_ops.types import Json

# Skipping the runs this claim already passed over; locking the row against other claimers.
_NEXT_RUNNABLE = _policy.next_runnable_sql(
    now="now()", also="\n  AND r.run_id <> ALL(%s)", lock="\nFOR NO KEY UPDATE OF r SKIP LOCKED"
)
# Find and take the next run in one round trip: the run comes back taken (`taken_`), or as it
# is when it used all its attempts and the caller must end it instead.
_TAKE_NEXT = f"""
WITH next AS ({_NEXT_RUNNABLE}),
taken AS (
  UPDATE runs SET status = 'running', worker_id = %s,
    lease_expires_at = now() + make_interval(secs => %s), attempt = runs.attempt + 1,
    updated_at = now()
  FROM next
  WHERE runs.run_id = next.run_id AND NOT (next.status = 'running' AND next.attempt >= %s)
  RETURNING runs.*
)
SELECT true AS taken_, * FROM taken
UNION ALL
SELECT false AS taken_, * FROM next WHERE NOT EXISTS (SELECT 1 FROM taken)
"""
_END = (
    "UPDATE runs SET status = %s, error = %s, finished_at = now(), updated_at = now(),"
    " lease_expires_at = NULL WHERE run_id = %s"
)


async def create_run(tx: Tx, new: NewRun, audit: AuditEntry | None = None) -> Run:
    """Queue a run, applying the multitask strategy to the runs in flight on its thread."""
    # Locking the thread row serialises run creation per thread, so two concurrent `reject`
    # requests cannot both see an idle thread.
    c = tx.conn
    cur = await c.execute(
        "SELECT thread_id FROM threads WHERE thread_id = %s FOR NO KEY UPDATE", (new.thread_id,)
    )
    if await cur.fetchone() is None:
        if (error := _policy.missing_thread(new)) is not None:
            raise error
        await c.execute(
            "INSERT INTO threads (thread_id, tenant_id, owner, status, metadata)"
            " VALUES (%s, %s, %s, 'busy', %s) ON CONFLICT (thread_id) DO NOTHING",
            (new.thread_id, new.tenant_id, new.owner, jsonb(new.thread_metadata)),
        )
        await c.execute(
            "SELECT 1 FROM threads WHERE thread_id = %s FOR NO KEY UPDATE", (new.thread_id,)
        )
    elif new.thread_metadata:
        # The thread learns which graph it belongs to; keys it already has win.
        await c.execute(
            "UPDATE threads SET metadata = %s::jsonb || metadata WHERE thread_id = %s",
            (jsonb(new.thread_metadata), new.thread_id),
        )
    cur = await c.execute(
        f"SELECT run_id, status FROM runs WHERE thread_id = %s AND status IN {INFLIGHT_SQL}"
        " ORDER BY created_at, run_id FOR NO KEY UPDATE",
        (new.thread_id,),
    )
    inflight = [(r["run_id"], r["status"]) for r in await cur.fetchall()]
    replaced = _policy.replace_inflight(new, inflight)
    for other in replaced.flag:
        await c.execute(
            "UPDATE runs SET cancel_action = %s, updated_at = now() WHERE run_id = %s",
            (new.multitask_strategy, other),
        )
        tx.notify(RUN_CANCEL, other)
    for other in replaced.end:
        await c.execute(_END, ("interrupted", replaced.reason, other))
        tx.notify(RUN_DONE, other)
    cur = await c.execute(
        "INSERT INTO runs (run_id, thread_id, assistant_id, tenant_id, owner, metadata, kwargs,"
        " multitask_strategy, stateless, not_before, status)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s), 'pending')"
        " ON CONFLICT (run_id) DO NOTHING RETURNING *",
        (*new.params(jsonb), new.after_seconds),
    )
    row = await cur.fetchone()
    if row is None:
        raise _policy.exists("run", new.run_id)
    await c.execute(
        "UPDATE threads SET status = 'busy', updated_at = now() WHERE thread_id = %s",
        (new.thread_id,),
    )
    tx.notify(RUN_QUEUED, new.run_id)
    await append_entry(tx, audit)  # last: the chain's lock is the transaction's last lock
    return rec.run(row, COLUMNS)


@no_transaction
async def get_run(tx: Tx, run_id: str, thread_id: str | None, *, lock: str = "") -> Run:
    """Return the run, optionally locked (`lock` is a row-lock clause such as FOR UPDATE)."""
    cur = await tx.conn.execute(f"SELECT * FROM runs WHERE run_id = %s {lock}", (run_id,))
    row = await cur.fetchone()
    if row is None or (thread_id is not None and row["thread_id"] != thread_id):
        raise _policy.run_not_found(run_id, thread_id)
    return rec.run(row, COLUMNS)


async def list_runs(
    tx: Tx, thread_id: str, limit: int, offset: int, status: str | None
) -> list[Run]:
    cur = await tx.conn.execute("SELECT 1 FROM threads WHERE thread_id = %s", (thread_id,))
    if await cur.fetchone() is None:
        raise _policy.missing("thread", thread_id)
    cur = await tx.conn.execute(
        "SELECT * FROM runs WHERE thread_id = %(t)s AND (%(s)s::text IS NULL OR status = %(s)s)"
        " ORDER BY created_at DESC, run_id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {"t": thread_id, "s": status, "limit": limit, "offset": offset},
    )
    return [rec.run(r, COLUMNS) for r in await cur.fetchall()]


async def delete_run(tx: Tx, run_id: str, thread_id: str | None) -> None:
    run = await get_run(tx, run_id, thread_id, lock="FOR UPDATE")
    _policy.check_deletable(run_id, run.status)
    await tx.conn.execute("DELETE FROM runs WHERE run_id = %s", (run_id,))


async def claim_runs(
    tx: Tx, worker_id: str, lease_seconds: float, max_attempts: int, limit: int
) -> list[Run]:
    """Claim up to `limit` runnable runs, ending abandoned runs that used all their attempts."""
    c = tx.conn
    claimed: list[Run] = []
    passed: list[str] = []  # exhausted runs whose thread another transaction holds
    while len(claimed) < limit:
        cur = await c.execute(_TAKE_NEXT, (passed, worker_id, lease_seconds, max_attempts))
        row = await cur.fetchone()
        if row is None:
            break
        if row.pop("taken_"):
            claimed.append(rec.run(row, COLUMNS))
        else:
            cur = await c.execute(
                "SELECT 1 FROM threads WHERE thread_id = %s FOR NO KEY UPDATE SKIP LOCKED",
                (row["thread_id"],),
            )
            if await cur.fetchone() is None:
                passed.append(row["run_id"])
                continue
            reason = _policy.abandoned(row["worker_id"], row["attempt"])
            cur = await c.execute(_END + " RETURNING *", ("error", reason, row["run_id"]))
            ended = await cur.fetchone()
            assert ended is not None, "the claim holds the run's row"
            await settle_thread(tx, row["thread_id"], "error", reason)
            await outbox.enqueue(tx, rec.run(ended, COLUMNS))  # its webhook tells of the failure
            tx.notify(RUN_DONE, row["run_id"])
    return claimed


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
    tx: Tx, run_id: str, worker_id: str, end: Ending, audit: AuditEntry | None = None
) -> Run | None:
    """End a run held by `worker_id` and settle its thread; None when the lease was lost."""
    _policy.check_final(run_id, end.status)
    if not await _lock_thread_of(tx, run_id):
        return None
    cur = await tx.conn.execute(
        "UPDATE runs SET status = %s, error = %s, output = %s, finished_at = now(),"
        " updated_at = now(), lease_expires_at = NULL"
        " WHERE run_id = %s AND worker_id = %s AND status = 'running' RETURNING *",
        (end.status, end.error, maybe_jsonb(end.output), run_id, worker_id),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    finished = rec.run(row, COLUMNS)
    cur = await tx.conn.execute(
        'UPDATE threads SET "values" = COALESCE(%s, "values"),'
        " interrupts = COALESCE(%s, interrupts), state_updated_at = now()"
        " WHERE thread_id = %s RETURNING interrupts <> '{}'::jsonb AS waiting",
        (maybe_jsonb(end.thread_values), maybe_jsonb(end.thread_interrupts), finished.thread_id),
    )
    thread = await cur.fetchone()
    outcome = _policy.outcome_of_finish(end.status, bool(thread and thread["waiting"]))
    error = end.error if outcome == "error" else None
    await settle_thread(tx, finished.thread_id, outcome, error)
    await _wake_after_end(tx, run_id, finished.thread_id)
    await outbox.enqueue(tx, finished)  # the webhook commits with the ending, or neither does
    await append_entry(tx, audit)  # so does the record of the outcome (the chain's lock last)
    return finished


async def rollback_run(
    tx: Tx, run_id: str, worker_id: str, values: Json | None, interrupts: Json
) -> bool:
    """Delete a running run with its events and checkpoints; restore its thread's state."""
    if not await _lock_thread_of(tx, run_id):
        return False
    c = tx.conn
    cur = await c.execute(
        "DELETE FROM runs WHERE run_id = %s AND worker_id = %s AND status = 'running'"
        " RETURNING thread_id",
        (run_id, worker_id),
    )
    row = await cur.fetchone()
    if row is None:
        return False
    thread_id: str = row["thread_id"]
    await delete_checkpoints(tx, thread_id, run_id)
    await c.execute(
        'UPDATE threads SET "values" = %s, interrupts = %s, state_updated_at = now()'
        " WHERE thread_id = %s",
        (maybe_jsonb(values), jsonb(interrupts), thread_id),
    )
    await settle_thread(tx, thread_id, _policy.outcome_of_state(bool(interrupts)))
    await _wake_after_end(tx, run_id, thread_id)
    return True


async def lease_holders(tx: Tx) -> list[str]:
    cur = await tx.conn.execute(
        "SELECT DISTINCT worker_id FROM runs WHERE status = 'running' AND worker_id IS NOT NULL"
    )
    return [row["worker_id"] for row in await cur.fetchall()]


async def expire_leases(tx: Tx, worker_ids: list[str]) -> int:
    cur = await tx.conn.execute(
        "UPDATE runs SET lease_expires_at = now() - interval '1 second'"
        " WHERE status = 'running' AND worker_id = ANY(%s) RETURNING run_id",
        (worker_ids,),
    )
    expired = [row["run_id"] for row in await cur.fetchall()]
    for run_id in expired:
        tx.notify(RUN_QUEUED, run_id)
    return len(expired)


async def release_run(tx: Tx, run_id: str, worker_id: str) -> bool:
    cur = await tx.conn.execute(
        "UPDATE runs SET status = 'pending', worker_id = NULL, lease_expires_at = NULL,"
        " attempt = GREATEST(attempt - 1, 0), updated_at = now()"
        " WHERE run_id = %s AND worker_id = %s AND status = 'running' RETURNING run_id",
        (run_id, worker_id),
    )
    if await cur.fetchone() is None:
        return False
    tx.notify(RUN_QUEUED, run_id)
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
            tx.notify(RUN_CANCEL, run_id)
        elif run.status == "pending":
            cur = await tx.conn.execute(
                _END + " RETURNING *",
                ("interrupted", _policy.cancelled_before_start(action), run_id),
            )
            waiting = await is_waiting(tx, run.thread_id)
            await settle_thread(tx, run.thread_id, _policy.outcome_of_state(waiting))
            await _wake_after_end(tx, run_id, run.thread_id)
        else:
            after.append(run)
            continue
        row = await cur.fetchone()
        assert row is not None, "the run is locked for this transaction"
        after.append(rec.run(row, COLUMNS))
    return after


async def _lock_thread_of(tx: Tx, run_id: str) -> bool:
    """Lock the thread of a run (threads before runs); False if the run is gone."""
    cur = await tx.conn.execute(
        "SELECT t.thread_id FROM threads t JOIN runs r USING (thread_id) WHERE r.run_id = %s"
        " FOR NO KEY UPDATE OF t",
        (run_id,),
    )
    return await cur.fetchone() is not None


async def _wake_after_end(tx: Tx, run_id: str, thread_id: str) -> None:
    """A run ended: wake its waiters, and the workers if the thread's next run may go now."""
    tx.notify(RUN_DONE, run_id)
    following = await next_inflight(tx, thread_id)
    if following is not None:
        tx.notify(RUN_QUEUED, following)
