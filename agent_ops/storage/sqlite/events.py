"""Stream events on SQLite: a run's server-sent events, a thread's events outside runs, and the
clean-up of both (and of the threads stateless runs leave behind)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agent_ops.storage import _policy
from agent_ops.storage._policy import INFLIGHT_SQL
from agent_ops.storage.channels import RUN_EVENTS, THREAD_EVENTS
from agent_ops.storage.records import RunEvent, ThreadEvent
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, epoch
from agent_ops.storage.sqlite.threads import delete_checkpoints


def append_events(tx: Tx, run_id: str, events: Sequence[RunEvent]) -> None:
    if tx.conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
        raise _policy.missing("run", run_id)
    insert_events(tx, run_id, events)
    tx.notify(RUN_EVENTS, run_id)


def insert_events(tx: Tx, run_id: str, events: Sequence[RunEvent]) -> None:
    """Store events of the run if it exists, ignoring ones already stored."""
    tx.conn.executemany(
        "INSERT OR IGNORE INTO run_events (run_id, seq, event, data) SELECT ?, ?, ?, ?"
        " WHERE EXISTS (SELECT 1 FROM runs WHERE run_id = ?)",
        [(run_id, e.seq, e.event, e.data, run_id) for e in events],
    )


def read_events(tx: Tx, run_id: str, after_seq: int) -> list[RunEvent]:
    rows = tx.conn.execute(
        "SELECT seq, event, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq",
        (run_id, after_seq),
    )
    return [RunEvent(seq, event, bytes(data)) for seq, event, data in rows]


def delete_events(tx: Tx, finished_before: datetime) -> int:
    cutoff = finished_before.timestamp()
    runs = tx.conn.execute(
        "DELETE FROM run_events WHERE run_id IN (SELECT run_id FROM runs WHERE status NOT IN"
        f" {INFLIGHT_SQL} AND finished_at < ?)",
        (cutoff,),
    ).rowcount
    threads = tx.conn.execute("DELETE FROM thread_events WHERE created_at < ?", (cutoff,))
    return runs + threads.rowcount


def append_thread_event(
    tx: Tx, thread_id: str, event_id: str, event: str, data: bytes
) -> ThreadEvent:
    c = tx.conn
    if c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (thread_id,)).fetchone() is None:
        raise _policy.missing("thread", thread_id)
    c.execute(
        "INSERT INTO thread_events (thread_id, event_id, event, data, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (thread_id, event_id, event, data, tx.now),
    )
    tx.notify(THREAD_EVENTS, thread_id)
    return ThreadEvent(event_id, event, data, COLUMNS.time(tx.now))


def read_thread_events(tx: Tx, thread_id: str, since: datetime | None) -> list[ThreadEvent]:
    rows = tx.conn.execute(
        "SELECT event_id, event, data, created_at FROM thread_events"
        " WHERE thread_id = ? AND created_at >= ? ORDER BY created_at, event_id",
        (thread_id, epoch(since) if since is not None else float("-inf")),
    )
    return [
        ThreadEvent(event_id, event, bytes(data), COLUMNS.time(created))
        for event_id, event, data, created in rows
    ]


def purge_stateless_threads(tx: Tx, finished_before: datetime) -> list[str]:
    ids = [
        row[0]
        for row in tx.conn.execute(
            "SELECT t.thread_id FROM threads t WHERE EXISTS (SELECT 1 FROM runs r"
            " WHERE r.thread_id = t.thread_id AND r.stateless = 1"
            " AND COALESCE(r.kwargs ->> '$.on_completion', 'delete') = 'delete')"
            " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.thread_id"
            f" AND (r.status IN {INFLIGHT_SQL} OR r.finished_at >= ? OR r.stateless = 0))",
            (finished_before.timestamp(),),
        )
    ]
    tx.conn.executemany("DELETE FROM threads WHERE thread_id = ?", [(i,) for i in ids])
    for thread_id in ids:
        delete_checkpoints(tx, thread_id)
    return ids
