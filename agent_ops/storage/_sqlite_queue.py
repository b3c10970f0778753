"""Runs, the queue and stream events on SQLite, as functions that each run one transaction.

They run on the connection's own thread (see `SqliteStorage._tx`), so a transaction is one hop
and nothing interleaves with it; SQLite serialises writers, which makes every claim atomic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agent_ops.errors import Conflict, NotFound
from agent_ops.storage._sqlite_rows import dumps, run_from_row
from agent_ops.storage.records import LeaseState, Run, RunEvent, ThreadEvent
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json

_INFLIGHT = "('pending', 'running')"


def next_inflight(c: sqlite3.Connection, thread_id: str) -> str | None:
    """Return the thread's oldest pending or running run, if any."""
    row = c.execute(
        f"SELECT run_id FROM runs WHERE thread_id = ? AND status IN {_INFLIGHT}"
        " ORDER BY created_at, run_id LIMIT 1",
        (thread_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def settle_thread(
    c: sqlite3.Connection, thread_id: str, outcome: str, now: float, error: str | None = None
) -> None:
    """Set the thread's status after a run ended: busy while another run is in flight."""
    busy = next_inflight(c, thread_id) is not None
    c.execute(
        "UPDATE threads SET status = ?, error = ?, updated_at = ? WHERE thread_id = ?",
        ("busy" if busy else outcome, error, now, thread_id),
    )


def create_run(
    c: sqlite3.Connection,
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
    now: float,
) -> tuple[Run, list[str]]:
    """Queue a run; return it and the ids of running runs flagged for cancellation."""
    thread = c.execute("SELECT status FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
    if thread is None:
        if if_not_exists != "create":
            raise NotFound(f"thread {thread_id} not found; use if_not_exists='create' to create it")
        c.execute(
            "INSERT INTO threads (thread_id, tenant_id, owner, status, metadata, created_at,"
            " updated_at, state_updated_at) VALUES (?, ?, ?, 'busy', ?, ?, ?, ?)",
            (thread_id, DEFAULT_TENANT, DEFAULT_OWNER, dumps(thread_metadata), now, now, now),
        )
    elif thread_metadata:
        c.execute(
            "UPDATE threads SET metadata = json_patch(?, metadata) WHERE thread_id = ?",
            (dumps(thread_metadata), thread_id),
        )
    inflight = c.execute(
        f"SELECT run_id, status FROM runs WHERE thread_id = ? AND status IN {_INFLIGHT}"
        " ORDER BY created_at, run_id",
        (thread_id,),
    ).fetchall()
    flagged: list[str] = []
    if inflight:
        if multitask_strategy == "reject":
            busy_id, busy_status = inflight[0]
            raise Conflict(
                f"thread {thread_id} is busy (run {busy_id} is {busy_status}); use "
                "multitask_strategy=enqueue to queue, or interrupt/rollback to replace it"
            )
        if multitask_strategy in ("interrupt", "rollback"):
            for other_id, other_status in inflight:
                if other_status == "running":
                    c.execute(
                        "UPDATE runs SET cancel_action = ?, updated_at = ? WHERE run_id = ?",
                        (multitask_strategy, now, other_id),
                    )
                    flagged.append(other_id)
                else:
                    c.execute(
                        "UPDATE runs SET status = 'interrupted', error = ?, finished_at = ?,"
                        " updated_at = ? WHERE run_id = ?",
                        (
                            f"cancelled by run {run_id} (multitask_strategy={multitask_strategy})",
                            now,
                            now,
                            other_id,
                        ),
                    )
    if c.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
        raise Conflict(f"run {run_id} already exists")
    row = c.execute(
        "INSERT INTO runs (run_id, thread_id, assistant_id, tenant_id, owner, status, metadata,"
        " kwargs, multitask_strategy, stateless, attempt, not_before, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, 0, ?, ?, ?) RETURNING *",
        (
            run_id,
            thread_id,
            assistant_id,
            DEFAULT_TENANT,
            DEFAULT_OWNER,
            dumps(metadata),
            dumps(kwargs),
            multitask_strategy,
            int(stateless),
            now + after_seconds,
            now,
            now,
        ),
    ).fetchone()
    c.execute(
        "UPDATE threads SET status = 'busy', updated_at = ? WHERE thread_id = ?", (now, thread_id)
    )
    return run_from_row(row), flagged


def get_run(c: sqlite3.Connection, run_id: str, thread_id: str | None) -> Run:
    row = c.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None or (thread_id is not None and row["thread_id"] != thread_id):
        where = f" on thread {thread_id}" if thread_id else ""
        raise NotFound(f"run {run_id} not found{where}")
    return run_from_row(row)


def list_runs(
    c: sqlite3.Connection, thread_id: str, limit: int, offset: int, status: str | None
) -> list[Run]:
    if c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (thread_id,)).fetchone() is None:
        raise NotFound(f"thread {thread_id} not found")
    sql = "SELECT * FROM runs WHERE thread_id = ?"
    params: list[Any] = [thread_id]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    sql += " ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?"
    return [run_from_row(r) for r in c.execute(sql, (*params, limit, offset))]


def delete_run(c: sqlite3.Connection, run_id: str, thread_id: str | None) -> None:
    run = get_run(c, run_id, thread_id)
    if run.status in ("pending", "running"):
        raise Conflict(f"run {run_id} is {run.status}; cancel it before deleting it")
    c.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))


def claim_runs(
    c: sqlite3.Connection,
    worker_id: str,
    lease_seconds: float,
    max_attempts: int,
    limit: int,
    now: float,
) -> tuple[list[Run], list[str]]:
    """Claim up to `limit` runnable runs; also return ids of abandoned runs ended for good."""
    claimed: list[Run] = []
    ended: list[str] = []
    while len(claimed) < limit:
        run = _claim_next(c, worker_id, lease_seconds, max_attempts, now, ended)
        if run is None:
            break
        claimed.append(run)
    return claimed, ended


def _claim_next(
    c: sqlite3.Connection,
    worker_id: str,
    lease_seconds: float,
    max_attempts: int,
    now: float,
    ended: list[str],
) -> Run | None:
    while True:
        row = c.execute(
            f"""
            SELECT r.* FROM runs r
            WHERE ((r.status = 'pending' AND r.not_before <= :now)
                   OR (r.status = 'running' AND r.lease_expires_at < :now))
              AND NOT EXISTS (
                SELECT 1 FROM runs o
                WHERE o.thread_id = r.thread_id AND o.run_id != r.run_id
                  AND o.status IN {_INFLIGHT}
                  AND ((o.status = 'running' AND o.lease_expires_at >= :now)
                       OR (o.created_at, o.run_id) < (r.created_at, r.run_id)))
            ORDER BY r.created_at, r.run_id
            LIMIT 1
            """,
            {"now": now},
        ).fetchone()
        if row is None:
            return None
        if row["status"] == "running" and row["attempt"] >= max_attempts:
            reason = (
                f"run abandoned: worker {row['worker_id']} stopped heartbeating; "
                f"gave up after {row['attempt']} attempts"
            )
            c.execute(
                "UPDATE runs SET status = 'error', error = ?, finished_at = ?, updated_at = ?,"
                " lease_expires_at = NULL WHERE run_id = ?",
                (reason, now, now, row["run_id"]),
            )
            settle_thread(c, row["thread_id"], "error", now, reason)
            ended.append(row["run_id"])
            continue
        claimed = c.execute(
            "UPDATE runs SET status = 'running', worker_id = ?, lease_expires_at = ?,"
            " attempt = attempt + 1, updated_at = ? WHERE run_id = ? RETURNING *",
            (worker_id, now + lease_seconds, now, row["run_id"]),
        ).fetchone()
        return run_from_row(claimed)


def renew_lease(
    c: sqlite3.Connection, run_id: str, worker_id: str, lease_seconds: float, now: float
) -> LeaseState:
    row = c.execute(
        "UPDATE runs SET lease_expires_at = ? WHERE run_id = ? AND worker_id = ?"
        " AND status = 'running' RETURNING cancel_action",
        (now + lease_seconds, run_id, worker_id),
    ).fetchone()
    if row is None:
        return LeaseState(held=False)
    return LeaseState(held=True, cancel_action=row["cancel_action"])


def finish_run(
    c: sqlite3.Connection,
    run_id: str,
    worker_id: str,
    status: str,
    error: str | None,
    values: str | None,
    interrupts: str | None,
    output: str | None,
    now: float,
) -> tuple[Run | None, str | None]:
    """End a run held by `worker_id`; return (the finished run, the thread's next run id).

    The run is None when the lease was lost."""
    row = c.execute(
        "UPDATE runs SET status = ?, error = ?, output = ?, finished_at = ?, updated_at = ?,"
        " lease_expires_at = NULL WHERE run_id = ? AND worker_id = ? AND status = 'running'"
        " RETURNING *",
        (status, error, output, now, now, run_id, worker_id),
    ).fetchone()
    if row is None:
        return None, None
    finished = run_from_row(row)
    thread_id = finished.thread_id
    thread = c.execute(
        'UPDATE threads SET "values" = COALESCE(?, "values"),'
        " interrupts = COALESCE(?, interrupts), state_updated_at = ? WHERE thread_id = ?"
        " RETURNING interrupts",
        (values, interrupts, now, thread_id),
    ).fetchone()
    if status == "success":
        outcome = "idle"
    elif status == "interrupted":
        outcome = "interrupted" if thread is not None and thread[0] not in ("{}", "") else "idle"
    else:
        outcome = "error"
    settle_thread(c, thread_id, outcome, now, error if outcome == "error" else None)
    return finished, next_inflight(c, thread_id)


def rollback_run(
    c: sqlite3.Connection,
    run_id: str,
    worker_id: str,
    values: str | None,
    interrupts: str,
    now: float,
) -> tuple[str | None, str | None]:
    """Delete a running run with its events and checkpoints; return (thread id, next run id)."""
    row = c.execute(
        "DELETE FROM runs WHERE run_id = ? AND worker_id = ? AND status = 'running'"
        " RETURNING thread_id",
        (run_id, worker_id),
    ).fetchone()
    if row is None:
        return None, None
    thread_id: str = row["thread_id"]
    # The official SqliteSaver keeps metadata as JSON bytes: read it as text.
    written = (
        "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?1"
        " AND json_extract(CAST(metadata AS TEXT), '$.run_id') = ?2"
    )
    c.execute(
        f"DELETE FROM writes WHERE thread_id = ?1 AND checkpoint_id IN ({written})",
        (thread_id, run_id),
    )
    c.execute(
        "DELETE FROM checkpoints WHERE thread_id = ?1"
        " AND json_extract(CAST(metadata AS TEXT), '$.run_id') = ?2",
        (thread_id, run_id),
    )
    c.execute(
        'UPDATE threads SET "values" = ?, interrupts = ?, state_updated_at = ? WHERE thread_id = ?',
        (values, interrupts, now, thread_id),
    )
    settle_thread(c, thread_id, "idle" if interrupts == "{}" else "interrupted", now)
    return thread_id, next_inflight(c, thread_id)


def release_run(c: sqlite3.Connection, run_id: str, worker_id: str, now: float) -> bool:
    row = c.execute(
        "UPDATE runs SET status = 'pending', worker_id = NULL, lease_expires_at = NULL,"
        " attempt = MAX(attempt - 1, 0), updated_at = ? WHERE run_id = ? AND worker_id = ?"
        " AND status = 'running' RETURNING run_id",
        (now, run_id, worker_id),
    ).fetchone()
    return row is not None


def cancel_runs(
    c: sqlite3.Connection,
    run_ids: Sequence[str],
    thread_id: str | None,
    action: str,
    now: float,
) -> tuple[list[Run], list[str], list[str]]:
    """Cancel in-flight runs; return (runs after, flagged running ids, ended pending ids)."""
    after: list[Run] = []
    flagged: list[str] = []
    ended: list[str] = []
    for run_id in run_ids:
        run = get_run(c, run_id, thread_id)
        if run.status == "running":
            row = c.execute(
                "UPDATE runs SET cancel_action = ?, updated_at = ? WHERE run_id = ? RETURNING *",
                (action, now, run_id),
            ).fetchone()
            flagged.append(run_id)
            after.append(run_from_row(row))
        elif run.status == "pending":
            row = c.execute(
                "UPDATE runs SET status = 'interrupted', error = ?, finished_at = ?,"
                " updated_at = ? WHERE run_id = ? RETURNING *",
                (f"cancelled before it started ({action})", now, now, run_id),
            ).fetchone()
            after.append(run_from_row(row))
            ended.append(run_id)
            status = c.execute(
                "SELECT interrupts FROM threads WHERE thread_id = ?", (run.thread_id,)
            ).fetchone()
            outcome = "interrupted" if status is not None and status[0] != "{}" else "idle"
            settle_thread(c, run.thread_id, outcome, now)
        else:
            after.append(run)
    return after, flagged, ended


def append_events(c: sqlite3.Connection, run_id: str, events: Sequence[RunEvent]) -> None:
    if c.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
        raise NotFound(f"run {run_id} not found")
    c.executemany(
        "INSERT OR IGNORE INTO run_events (run_id, seq, event, data) VALUES (?, ?, ?, ?)",
        [(run_id, e.seq, e.event, e.data) for e in events],
    )


def read_events(c: sqlite3.Connection, run_id: str, after_seq: int) -> list[RunEvent]:
    return [
        RunEvent(seq, event, bytes(data))
        for seq, event, data in c.execute(
            "SELECT seq, event, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after_seq),
        )
    ]


def delete_events(c: sqlite3.Connection, finished_before: float) -> int:
    cur = c.execute(
        "DELETE FROM run_events WHERE run_id IN (SELECT run_id FROM runs WHERE status NOT IN"
        f" {_INFLIGHT} AND finished_at < ?)",
        (finished_before,),
    )
    removed = cur.rowcount
    cur = c.execute("DELETE FROM thread_events WHERE created_at < ?", (finished_before,))
    return removed + cur.rowcount


def append_thread_event(
    c: sqlite3.Connection, thread_id: str, event_id: str, event: str, data: bytes, now: float
) -> ThreadEvent:
    if c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (thread_id,)).fetchone() is None:
        raise NotFound(f"thread {thread_id} not found")
    c.execute(
        "INSERT INTO thread_events (thread_id, event_id, event, data, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (thread_id, event_id, event, data, now),
    )
    return ThreadEvent(event_id, event, data, datetime.fromtimestamp(now, UTC))


def read_thread_events(
    c: sqlite3.Connection, thread_id: str, since: float | None
) -> list[ThreadEvent]:
    return [
        ThreadEvent(event_id, event, bytes(data), datetime.fromtimestamp(created, UTC))
        for event_id, event, data, created in c.execute(
            "SELECT event_id, event, data, created_at FROM thread_events"
            " WHERE thread_id = ? AND created_at >= ? ORDER BY created_at, event_id",
            (thread_id, since if since is not None else float("-inf")),
        )
    ]


def purge_stateless_threads(c: sqlite3.Connection, finished_before: float) -> list[str]:
    ids = [
        row[0]
        for row in c.execute(
            "SELECT t.thread_id FROM threads t WHERE EXISTS (SELECT 1 FROM runs r"
            " WHERE r.thread_id = t.thread_id AND r.stateless = 1"
            " AND COALESCE(r.kwargs ->> '$.on_completion', 'delete') = 'delete')"
            " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.thread_id"
            f" AND (r.status IN {_INFLIGHT} OR r.finished_at >= ? OR r.stateless = 0))",
            (finished_before,),
        )
    ]
    c.executemany("DELETE FROM threads WHERE thread_id = ?", [(i,) for i in ids])
    return ids
