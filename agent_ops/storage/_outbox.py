"""The webhook outbox in storage: its rows as values and the `Storage` part written once above
both backends (each method one transaction of the backend's `outbox` module function).

A run that asked for a webhook gets its message in the transaction that ends it (the backends'
`finish_run` call `outbox.enqueue`), so a crash can never lose it and an ending that rolled back
never sends one. Delivery leases a row the way a worker leases a run: the lease holder posts,
then records the outcome; a lease that lapses (its process died) makes the row due again, so a
message is delivered at least once, by whichever process comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from agent_ops.storage._base import Base
from agent_ops.storage._records import reader
from agent_ops.storage.records import Run
from agent_ops.types import Json

__all__ = ["DeliveryState", "Notice", "WebhookMessage", "completion_body", "webhook_message_id"]

DeliveryState = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """One outbound webhook and how its delivery stands."""

    message_id: str
    run_id: str
    thread_id: str
    tenant_id: str
    url: str
    payload: Json
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    created_at: datetime

    @property
    def state(self) -> DeliveryState:
        if self.delivered_at is not None:
            return "delivered"
        return "failed" if self.failed_at is not None else "pending"


@dataclass(frozen=True, slots=True)
class Notice:
    """An outbound message that is not a run's completion (an escalated approval's notice),
    delivered, signed and retried like one; `run_id` names the run it concerns."""

    message_id: str
    run_id: str
    url: str
    payload: Json


def webhook_message_id(run_id: str) -> str:
    """The `webhook-id` of a run's completion message: stable, so receivers can dedupe."""
    return f"msg_{run_id}"


def completion_body(run: Run) -> dict[str, Any]:
    """The run as the LangGraph server posts it: its fields plus the final values or error."""
    body: dict[str, Any] = {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "status": run.status,
        "metadata": run.metadata,
        "kwargs": run.kwargs,
        "multitask_strategy": run.multitask_strategy,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "attempt": run.attempt,
    }
    output = run.output or {}
    if "__error__" in output:
        body["error"] = output["__error__"]
    elif run.status == "error" and run.error:  # ended by the queue (attempts used up)
        body["error"] = {"error": "RunAbandoned", "message": run.error}
    else:
        body["values"] = output
    return body


def completion_notice(run: Run) -> Notice | None:
    """The completion message of a run that names a webhook (None when it names none): what
    both backends' `enqueue` write in the transaction that ends the run."""
    url = run.kwargs.get("webhook")
    if not url:
        return None
    return Notice(webhook_message_id(run.run_id), run.run_id, url, completion_body(run))


class Outbox(Base):
    """Outbound webhooks: leased for delivery by any process, each outcome recorded."""

    async def claim_webhooks(
        self, *, owner: str, lease_seconds: float, limit: int = 10
    ) -> list[WebhookMessage]:
        """Lease up to `limit` due messages (not delivered, not given up, `next_attempt_at`
        passed, no live lease) to `owner`, counting the attempt; soonest due first."""
        return await self._tx(self._sql.outbox.claim_webhooks, owner, lease_seconds, limit)

    async def webhook_delivered(self, message_id: str, *, owner: str) -> bool:
        """Mark a message delivered; False if `owner` no longer holds its lease."""
        return await self._tx(self._sql.outbox.webhook_delivered, message_id, owner)

    async def webhook_failed(
        self, message_id: str, *, owner: str, error: str, retry_in: float | None
    ) -> bool:
        """Record a failed attempt: due again in `retry_in` seconds, or given up when None;
        False if `owner` no longer holds the lease."""
        return await self._tx(self._sql.outbox.webhook_failed, message_id, owner, error, retry_in)

    async def claim_escalation(
        self, tenant_id: str, thread_id: str, interrupts: str, notices: Sequence[Notice] = ()
    ) -> bool:
        """Take the escalation of a thread's interrupts (`interrupts`: a digest of their ids):
        True for the one caller that does, False for every other, in any process; the notice
        and mail notices are queued in the same transaction, so they are sent exactly when the
        claim holds."""
        return await self._tx(
            self._sql.outbox.claim_escalation, tenant_id, thread_id, interrupts, list(notices)
        )

    async def run_webhooks(self, run_id: str) -> list[WebhookMessage]:
        """The outbound messages of one run, oldest first."""
        return await self._tx(self._sql.outbox.run_webhooks, run_id)


message_of = reader(
    WebhookMessage,
    json="payload",
    time="next_attempt_at created_at",
    maybe_time="lease_until delivered_at failed_at",
)
