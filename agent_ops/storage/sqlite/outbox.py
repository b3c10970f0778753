"""The webhook outbox on SQLite: a run's message written in the transaction that ends it, due
rows leased with one conditional UPDATE (SQLite's single writer makes it atomic), and each
attempt's outcome recorded only by the lease's holder."""

from __future__ import annotations

from agent_ops.storage._outbox import Notice, WebhookMessage, completion_notice, message_of
from agent_ops.storage.channels import WEBHOOK_QUEUED
from agent_ops.storage.records import Run
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, dumps

_CLAIM = """
UPDATE webhook_outbox SET lease_owner = :owner, lease_until = :now + :lease,
  attempts = attempts + 1
WHERE message_id IN (
  SELECT message_id FROM webhook_outbox
  WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= :now
    AND (lease_until IS NULL OR lease_until < :now)
  ORDER BY next_attempt_at, message_id LIMIT :limit
)
RETURNING *
"""


def enqueue(tx: Tx, run: Run) -> None:
    """Add the completion message of a run that names a webhook (inside its ending)."""
    notice = completion_notice(run)
    if notice is not None:
        _queue(tx, run.tenant_id, run.thread_id, notice)


def _queue(tx: Tx, tenant_id: str, thread_id: str, notice: Notice) -> None:
    """Write one outbound message (a message id already queued is left as it is)."""
    tx.conn.execute(
        "INSERT INTO webhook_outbox (message_id, run_id, thread_id, tenant_id, url, payload,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (message_id) DO NOTHING",
        (
            notice.message_id,
            notice.run_id,
            thread_id,
            tenant_id,
            notice.url,
            dumps(notice.payload),
            tx.now,
            tx.now,
        ),
    )
    tx.notify(WEBHOOK_QUEUED, notice.message_id)


def claim_webhooks(tx: Tx, owner: str, lease_seconds: float, limit: int) -> list[WebhookMessage]:
    rows = tx.conn.execute(
        _CLAIM, {"owner": owner, "now": tx.now, "lease": lease_seconds, "limit": limit}
    ).fetchall()
    found = [message_of(r, COLUMNS) for r in rows]
    return sorted(found, key=lambda m: (m.next_attempt_at, m.message_id))


def webhook_delivered(tx: Tx, message_id: str, owner: str) -> bool:
    cur = tx.conn.execute(
        "UPDATE webhook_outbox SET delivered_at = ?, lease_owner = NULL, lease_until = NULL"
        " WHERE message_id = ? AND lease_owner = ? AND delivered_at IS NULL",
        (tx.now, message_id, owner),
    )
    return cur.rowcount == 1  # 0: the lease lapsed and another process holds the message


def webhook_failed(tx: Tx, message_id: str, owner: str, error: str, retry_in: float | None) -> bool:
    cur = tx.conn.execute(
        "UPDATE webhook_outbox SET last_error = ?, lease_owner = NULL, lease_until = NULL,"
        " next_attempt_at = ?, failed_at = ?"
        " WHERE message_id = ? AND lease_owner = ? AND delivered_at IS NULL",
        (
            error,
            tx.now + (retry_in or 0.0),
            tx.now if retry_in is None else None,
            message_id,
            owner,
        ),
    )
    return cur.rowcount == 1


def run_webhooks(tx: Tx, run_id: str) -> list[WebhookMessage]:
    rows = tx.conn.execute(
        "SELECT * FROM webhook_outbox WHERE run_id = ? ORDER BY created_at, message_id",
        (run_id,),
    ).fetchall()
    return [message_of(r, COLUMNS) for r in rows]


def claim_escalation(
    tx: Tx, tenant_id: str, thread_id: str, interrupts: str, notices: list[Notice]
) -> bool:
    """Take the escalation of a thread's interrupts (False: another process already has), with
    its notices' outbox rows in the same transaction."""
    row = tx.conn.execute(
        "INSERT INTO approval_escalations (tenant_id, thread_id, interrupts, escalated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING thread_id",
        (tenant_id, thread_id, interrupts, tx.now),
    ).fetchone()
    if row is None:
        return False
    for notice in notices:
        _queue(tx, tenant_id, thread_id, notice)
    return True
