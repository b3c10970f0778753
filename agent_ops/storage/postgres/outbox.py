"""The webhook outbox on PostgreSQL: a run's message written in the transaction that ends it,
due rows leased with `FOR UPDATE SKIP LOCKED` (processes never wait on each other's rows), and
each attempt's outcome recorded only by the lease's holder."""

from __future__ import annotations

from agent_ops.storage._outbox import Notice, WebhookMessage, completion_notice, message_of
from agent_ops.storage.channels import WEBHOOK_QUEUED
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb, no_transaction
from agent_ops.storage.records import Run

_CLAIM = """
WITH due AS (
  SELECT message_id FROM webhook_outbox
  WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
    AND (lease_until IS NULL OR lease_until < now())
  ORDER BY next_attempt_at, message_id LIMIT %s
  FOR UPDATE SKIP LOCKED
)
UPDATE webhook_outbox o SET lease_owner = %s,
  lease_until = now() + make_interval(secs => %s), attempts = o.attempts + 1
FROM due WHERE o.message_id = due.message_id
RETURNING o.*
"""


async def enqueue(tx: Tx, run: Run) -> None:
    """Add the completion message of a run that names a webhook (inside its ending)."""
    notice = completion_notice(run)
    if notice is not None:
        await _queue(tx, run.tenant_id, run.thread_id, notice)


async def _queue(tx: Tx, tenant_id: str, thread_id: str, notice: Notice) -> None:
    """Write one outbound message (a message id already queued is left as it is)."""
    await tx.conn.execute(
        "INSERT INTO webhook_outbox (message_id, run_id, thread_id, tenant_id, url, payload)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (message_id) DO NOTHING",
        (notice.message_id, notice.run_id, thread_id, tenant_id, notice.url, jsonb(notice.payload)),
    )
    tx.notify(WEBHOOK_QUEUED, notice.message_id)


@no_transaction
async def claim_webhooks(
    tx: Tx, owner: str, lease_seconds: float, limit: int
) -> list[WebhookMessage]:
    cur = await tx.conn.execute(_CLAIM, (limit, owner, lease_seconds))
    return [message_of(r, COLUMNS) for r in await cur.fetchall()]


@no_transaction
async def webhook_delivered(tx: Tx, message_id: str, owner: str) -> bool:
    cur = await tx.conn.execute(
        "UPDATE webhook_outbox SET delivered_at = now(), lease_owner = NULL, lease_until = NULL"
        " WHERE message_id = %s AND lease_owner = %s AND delivered_at IS NULL",
        (message_id, owner),
    )
    return cur.rowcount == 1  # 0: the lease lapsed and another process holds the message


@no_transaction
async def webhook_failed(
    tx: Tx, message_id: str, owner: str, error: str, retry_in: float | None
) -> bool:
    cur = await tx.conn.execute(
        "UPDATE webhook_outbox SET last_error = %(error)s, lease_owner = NULL, lease_until = NULL,"
        " next_attempt_at = now() + make_interval(secs => COALESCE(%(retry)s::float8, 0)),"
        " failed_at = CASE WHEN %(retry)s::float8 IS NULL THEN now() END"
        " WHERE message_id = %(id)s AND lease_owner = %(owner)s AND delivered_at IS NULL",
        {"error": error, "retry": retry_in, "id": message_id, "owner": owner},
    )
    return cur.rowcount == 1


@no_transaction
async def run_webhooks(tx: Tx, run_id: str) -> list[WebhookMessage]:
    cur = await tx.conn.execute(
        "SELECT * FROM webhook_outbox WHERE run_id = %s ORDER BY created_at, message_id",
        (run_id,),
    )
    return [message_of(r, COLUMNS) for r in await cur.fetchall()]


async def claim_escalation(
    tx: Tx, tenant_id: str, thread_id: str, interrupts: str, notices: list[Notice]
) -> bool:
    """Take the escalation of a thread's interrupts (False: another process already has), with
    its notices' outbox rows in the same transaction."""
    cur = await tx.conn.execute(
        "INSERT INTO approval_escalations (tenant_id, thread_id, interrupts) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING thread_id",
        (tenant_id, thread_id, interrupts),
    )
    if await cur.fetchone() is None:
        return False
    for notice in notices:
        await _queue(tx, tenant_id, thread_id, notice)
    return True
