"""Worker processes and queue metrics on PostgreSQL."""

from __future__ import annotations

from agent_ops.storage.postgres.rows import Tx
from agent_ops.storage.records import QueueStats


async def heartbeat_worker(tx: Tx, worker_id: str, hostname: str, pid: int) -> None:
    await tx.conn.execute(
        "INSERT INTO workers (worker_id, hostname, pid) VALUES (%s, %s, %s)"
        " ON CONFLICT (worker_id) DO UPDATE SET hostname = excluded.hostname,"
        " pid = excluded.pid, heartbeat_at = now()",
        (worker_id, hostname, pid),
    )


async def remove_worker(tx: Tx, worker_id: str) -> None:
    await tx.conn.execute("DELETE FROM workers WHERE worker_id = %s", (worker_id,))


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
