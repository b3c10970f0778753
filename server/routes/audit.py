"""The audit trail, read-only: the caller's tenant's records in chain order, a page at a time;
and the approvals waiting for a decision, with the policy's rules and escalation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agent_ops.runtime import PendingApproval, audit_view
from server.deps import RuntimeDep
from server.views import fields_of

router = APIRouter(tags=["audit"])


@router.get("/audit")
async def list_audit(
    runtime: RuntimeDep,
    action: str | None = None,
    actor: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: str | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Return audit records oldest first (filters match exactly; `since` is an ISO time) and
    `next`, the `after` cursor of the following page (null on the last page)."""
    rows, following = await runtime.audit_page(
        action=action,
        actor=actor,
        resource_type=resource_type,
        resource_id=resource_id,
        since=since,
        after=after,
        limit=limit,
    )
    return {"records": [audit_view(row) for row in rows], "next": following}


@router.get("/approvals")
async def list_approvals(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Return the interrupts waiting for a decision, oldest first: the rules that apply, who has
    approved so far, and whether each is overdue (escalated to `escalated_to`)."""
    return [_pending_view(p) for p in await runtime.pending_approvals()]


def _pending_view(pending: PendingApproval) -> dict[str, Any]:
    return fields_of(
        pending,
        "thread_id",
        "graph_id",
        "interrupts",
        "waiting_since",
        "waited_hours",
        "rules",
        "approvers",
        "overdue",
        "escalated_to",
    )
