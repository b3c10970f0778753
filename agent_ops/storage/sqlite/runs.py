"""Runs and the queue on SQLite: queuing under a multitask strategy, claims, leases, endings.

Every function runs inside one IMMEDIATE transaction on the connection's own thread, so SQLite's
single writer makes each claim atomic and nothing interleaves with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import INFLIGHT_SQL, NewRun
from agent_ops.storage._requests import Ending
from agent_ops.storage.channels import RUN_CANCEL, RUN_DONE, RUN_QUEUED, queued
from agent_ops.storage.records import AuditEntry, LeaseState, Run
from agent_ops.storage.sqlite import outbox
from agent_ops.storage.sqlite.audit import append_entry
from agent_ops.storage.sqlite.events import insert_events
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, dumps, maybe_dumps
from agent_ops.storage.sqlite.threads import (
    delete_checkpoints,
    is_waiting,
    next_inflight,
    settle_thread,
)
from agent_ops.types import Json

_NEXT_RUNNABLE = _policy.next_runnable_sql(now=":now")
_END = (
    "UPDATE runs SET status = ?, error = ?, finished_at = ?, updated_at = ?,"
    " lease_expires_at = NULL WHERE run_id = ?"
)


def create_run(tx: Tx, new: NewRun, audit: AuditEntry | None = None) -> Run:
    """Queue a run, applying the multitask strategy to the runs in flight on its thread."""
    c, now = tx.conn, tx.now
    if c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (new.thread_id,)).fetchone() is None:
        if (error := _policy.missing_thread(new)) is not None:
            raise error
        c.execute(
            "INSERT INTO threads (thread_id, tenant_id, owner, status, metadata, created_at,"
            " updated_at, state_updated_at) VALUES (?, ?, ?, 'busy', ?, ?, ?, ?)",
            (
                new.thread_id,
                new.tenant_id,
                new.owner,
                dumps(new.thread_metadata),
                now,
                now,
                now,
            ),
        )
    elif new.thread_metadata:
        # The thread learns which graph it belongs to; keys it already has win.
        c.execute(
            "UPDATE threads SET metadata = json_patch(?, metadata) WHERE thread_id = ?",
            (dumps(new.thread_metadata), new.thread_id),
        )
    inflight = c.execute(
        f"SELECT run_id, status FROM runs WHERE thread_id = ? AND status IN {INFLIGHT_SQL}"
        " ORDER BY created_at, run_id",
        (new.thread_id,),
    ).fetchall()
    replaced = _policy.replace_inflight(new, [(r[0], r[1]) for r in inflight])
    for other in replaced.flag:
        c.execute(
            "UPDATE runs SET cancel_action = ?, updated_at = ? WHERE run_id = ?",
            (new.multitask_strategy, now, other),
        )
        tx.notify(RUN_CANCEL, other)
    for other in replaced.end:
        c.execute(_END, ("interrupted", replaced.reason, now, now, other))
        tx.notify(RUN_DONE, other)
    status, worker_id, lease, attempt = new.start(idle=not inflight)
    row = c.execute(
        "INSERT INTO runs (run_id, thread_id, assistant_id, tenant_id, owner, metadata, kwargs,"
        " multitask_strategy, stateless, not_before, created_at, updated_at, status, worker_id,"
        " lease_expires_at, attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (run_id) DO NOTHING RETURNING *",
        (
            *new.params(dumps),
            now + new.after_seconds,
            now,
            now,
            status,
            worker_id,
            None if lease is None else now + lease,
            attempt,
        ),
    ).fetchone()
    if row is None:
        raise _policy.exists("run", new.run_id)
    c.execute(
        "UPDATE threads SET status = 'busy', updated_at = ? WHERE thread_id = ?",
        (now, new.thread_id),
    )
    tx.notify(queued(row["status"]), new.run_id)
    append_entry(tx, audit)  # last: the chain's lock is the transaction's last lock
    return rec.run(row, COLUMNS)


def get_run(tx: Tx, run_id: str, thread_id: str | None) -> Run:
    row = tx.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None or (thread_id is not None and row["thread_id"] != thread_id):
        raise _policy.run_not_found(run_id, thread_id)
    return rec.run(row, COLUMNS)


def list_runs(tx: Tx, thread_id: str, limit: int, offset: int, status: str | None) -> list[Run]:
    c = tx.conn
    if c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (thread_id,)).fetchone() is None:
        raise _policy.missing("thread", thread_id)
    rows = c.execute(
        "SELECT * FROM runs WHERE thread_id = ? AND (? IS NULL OR status = ?)"
        " ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?",
        (thread_id, status, status, limit, offset),
    )
    return [rec.run(r, COLUMNS) for r in rows]


def delete_run(tx: Tx, run_id: str, thread_id: str | None) -> None:
    _policy.check_deletable(run_id, get_run(tx, run_id, thread_id).status)
    tx.conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))


def claim_runs(
    tx: Tx, worker_id: str, lease_seconds: float, max_attempts: int, limit: int
) -> list[Run]:
    """Claim up to `limit` runnable runs, ending abandoned runs that used all their attempts."""
    c, now = tx.conn, tx.now
    claimed: list[Run] = []
    while len(claimed) < limit:
        row = c.execute(_NEXT_RUNNABLE, {"now": now}).fetchone()
        if row is None:
            break
        if row["status"] == "running" and row["attempt"] >= max_attempts:
            reason = _policy.abandoned(row["worker_id"], row["attempt"])
            ended = c.execute(
                _END + " RETURNING *", ("error", reason, now, now, row["run_id"])
            ).fetchone()
            settle_thread(tx, row["thread_id"], "error", reason)
            outbox.enqueue(tx, rec.run(ended, COLUMNS))  # its webhook tells of the failure
            tx.notify(RUN_DONE, row["run_id"])
            continue
        row = c.execute(
            "UPDATE runs SET status = 'running', worker_id = ?, lease_expires_at = ?,"
            " attempt = attempt + 1, updated_at = ? WHERE run_id = ? RETURNING *",
            (worker_id, now + lease_seconds, now, row["run_id"]),
        ).fetchone()
        claimed.append(rec.run(row, COLUMNS))
    return claimed


def renew_lease(tx: Tx, run_id: str, worker_id: str, lease_seconds: float) -> LeaseState:
    row = tx.conn.execute(
        "UPDATE runs SET lease_expires_at = ? WHERE run_id = ? AND worker_id = ?"
        " AND status = 'running' RETURNING cancel_action",
        (tx.now + lease_seconds, run_id, worker_id),
    ).fetchone()
    if row is None:
        return LeaseState(held=False)
    return LeaseState(held=True, cancel_action=row["cancel_action"])


def finish_run(
    tx: Tx, run_id: str, worker_id: str, end: Ending, audit: AuditEntry | None = None
) -> Run | None:
    """End a run held by `worker_id` and settle its thread; None when the lease was lost."""
    _policy.check_final(run_id, end.status)
    status, error = end.status, end.error
    c, now = tx.conn, tx.now
    # Stored whether or not the lease still holds, as a separate flush would have stored them.
    insert_events(tx, run_id, end.events)
    row = c.execute(
        "UPDATE runs SET status = ?, error = ?, output = ?, finished_at = ?, updated_at = ?,"
        " lease_expires_at = NULL WHERE run_id = ? AND worker_id = ? AND status = 'running'"
        " RETURNING *",
        (status, error, maybe_dumps(end.output), now, now, run_id, worker_id),
    ).fetchone()
    if row is None:
        return None
    finished = rec.run(row, COLUMNS)
    c.execute(
        'UPDATE threads SET "values" = COALESCE(?, "values"),'
        " interrupts = COALESCE(?, interrupts), state_updated_at = ? WHERE thread_id = ?",
        (
            maybe_dumps(end.thread_values),
            maybe_dumps(end.thread_interrupts),
            now,
            finished.thread_id,
        ),
    )
    outcome = _policy.outcome_of_finish(status, error, is_waiting(tx, finished.thread_id))
    settle_thread(tx, finished.thread_id, outcome, error if outcome == "error" else None)
    _wake_after_end(tx, run_id, finished.thread_id)
    outbox.enqueue(tx, finished)  # the webhook commits with the ending, or neither does
    append_entry(tx, audit)  # so does the record of the outcome (the chain's lock last)
    return finished


def rollback_run(
    tx: Tx, run_id: str, worker_id: str, values: Json | None, interrupts: Json
) -> bool:
    """Delete a running run with its events and checkpoints; restore its thread's state."""
    c = tx.conn
    row = c.execute(
        "DELETE FROM runs WHERE run_id = ? AND worker_id = ? AND status = 'running'"
        " RETURNING thread_id",
        (run_id, worker_id),
    ).fetchone()
    if row is None:
        return False
    thread_id: str = row["thread_id"]
    delete_checkpoints(tx, thread_id, run_id)
    c.execute(
        'UPDATE threads SET "values" = ?, interrupts = ?, state_updated_at = ? WHERE thread_id = ?',
        (maybe_dumps(values), dumps(interrupts), tx.now, thread_id),
    )
    settle_thread(tx, thread_id, _policy.outcome_of_state(bool(interrupts)))
    _wake_after_end(tx, run_id, thread_id)
    return True


def lease_holders(tx: Tx) -> list[str]:
    rows = tx.conn.execute(
        "SELECT DISTINCT worker_id FROM runs WHERE status = 'running' AND worker_id IS NOT NULL"
    )
    return [worker_id for (worker_id,) in rows]


def expire_leases(tx: Tx, worker_ids: list[str]) -> int:
    marks = ", ".join("?" * len(worker_ids))
    expired = [
        run_id
        for (run_id,) in tx.conn.execute(
            f"UPDATE runs SET lease_expires_at = ? WHERE status = 'running'"
            f" AND worker_id IN ({marks}) RETURNING run_id",
            (tx.now - 1.0, *worker_ids),
        ).fetchall()
    ]
    for run_id in expired:
        tx.notify(RUN_QUEUED, run_id)
    return len(expired)


def release_run(tx: Tx, run_id: str, worker_id: str) -> bool:
    row = tx.conn.execute(
        "UPDATE runs SET status = 'pending', worker_id = NULL, lease_expires_at = NULL,"
        " attempt = MAX(attempt - 1, 0), updated_at = ? WHERE run_id = ? AND worker_id = ?"
        " AND status = 'running' RETURNING run_id",
        (tx.now, run_id, worker_id),
    ).fetchone()
    if row is None:
        return False
    tx.notify(RUN_QUEUED, run_id)
    return True


def cancel_runs(tx: Tx, run_ids: Sequence[str], thread_id: str | None, action: str) -> list[Run]:
    """Cancel in-flight runs; return every named run as it is after the change."""
    after: list[Run] = []
    for run_id in run_ids:
        run = get_run(tx, run_id, thread_id)
        if run.status == "running":
            row = tx.conn.execute(
                "UPDATE runs SET cancel_action = ?, updated_at = ? WHERE run_id = ? RETURNING *",
                (action, tx.now, run_id),
            ).fetchone()
            tx.notify(RUN_CANCEL, run_id)
        elif run.status == "pending":
            row = tx.conn.execute(
                _END + " RETURNING *",
                ("interrupted", _policy.cancelled_before_start(action), tx.now, tx.now, run_id),
            ).fetchone()
            waiting = is_waiting(tx, run.thread_id)
            settle_thread(tx, run.thread_id, _policy.outcome_of_state(waiting))
            _wake_after_end(tx, run_id, run.thread_id)
        else:
            after.append(run)
            continue
        after.append(rec.run(row, COLUMNS))
    return after


def _wake_after_end(tx: Tx, run_id: str, thread_id: str) -> None:
    """A run ended: wake its waiters, and the workers if the thread's next run may go now."""
    tx.notify(RUN_DONE, run_id)
    following = next_inflight(tx, thread_id)
    if following is not None:
        tx.notify(RUN_QUEUED, following)
