"""The escalation sweep: overdue approvals escalate on a timer, not only when someone looks.

Every process that runs workers sweeps every `approval_escalate_sweep_seconds`: it reads the
interrupted threads of every tenant, oldest first, up to the first that is not overdue, and
escalates each overdue one through `ApprovalPolicy.escalate_if_overdue`. That claims the
escalation in the database (one row per thread and interrupts), so however many processes sweep
at once, one of them writes the `approval.escalated` record and queues the notice; the outbox
delivers the notice at least once (receivers dedupe on its `webhook-id`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from agent_ops.governance.approvals import ApprovalPolicy
from agent_ops.storage import Page, Storage, ThreadFilter

__all__ = ["EscalationSweep"]

PAGE: Final = 200
"""Interrupted threads read per query."""


class EscalationSweep:
    """Escalates the overdue approvals of every tenant (the runtime sweeps on a timer)."""

    def __init__(self, storage: Storage, policy: ApprovalPolicy) -> None:
        self._storage = storage
        self._policy = policy

    async def sweep(self, now: datetime | None = None) -> int:
        """Escalate every approval overdue at `now` (default: the current time); return how
        many are overdue (escalated by this call or before it)."""
        if self._policy.expire_hours is None:
            return 0
        moment = now or datetime.now(UTC)
        overdue = 0
        offset = 0
        while True:
            threads = await self._storage.search_threads(
                ThreadFilter(status="interrupted"), Page(PAGE, offset, "updated_at", "asc")
            )
            for thread in threads:
                if self._policy.overdue(thread, moment) is None:
                    return overdue  # oldest first: none after it is overdue either
                await self._policy.escalate_if_overdue(self._storage, thread, moment)
                overdue += 1
            if len(threads) < PAGE:
                return overdue
            offset += PAGE
