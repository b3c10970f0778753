"""Worker processes and queue metrics on SQLite."""

from __future__ import annotations

from agent_ops.storage.records import QueueStats
from agent_ops.storage.sqlite.rows import Tx


def heartbeat_worker(tx: Tx, worker_id: str, hostname: str, pid: int) -> None:
    tx.conn.execute(
        "INSERT INTO workers (worker_id, hostname, pid, started_at, heartbeat_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (worker_id) DO UPDATE SET"
        " hostname = excluded.hostname, pid = excluded.pid, heartbeat_at = excluded.heartbeat_at",
        (worker_id, hostname, pid, tx.now, tx.now),
    )


def remove_worker(tx: Tx, worker_id: str) -> None:
    tx.conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))


def queue_stats(tx: Tx, live_within_seconds: float) -> QueueStats:
    c, now = tx.conn, tx.now
    by_status = {
        status: int(n)
        for status, n in c.execute("SELECT status, COUNT(*) FROM runs GROUP BY status")
    }
    (oldest,) = c.execute(
        "SELECT MIN(created_at) FROM runs WHERE status = 'pending' AND not_before <= ?", (now,)
    ).fetchone()
    (live,) = c.execute(
        "SELECT COUNT(*) FROM workers WHERE heartbeat_at >= ?", (now - live_within_seconds,)
    ).fetchone()
    return QueueStats(
        runs_by_status=by_status,
        pending=by_status.get("pending", 0),
        oldest_pending_age_seconds=0.0 if oldest is None else max(0.0, now - oldest),
        live_workers=int(live),
    )
