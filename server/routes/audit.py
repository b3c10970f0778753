"""The audit trail, read-only: the caller's tenant's records in chain order, a page at a time;
and the approvals waiting for a decision, with the policy's rules and escalation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from agent_ops import InvalidInput
from agent_ops.runtime import AuditRecord, PendingApproval
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
        since=_since(since),
        after=after,
        limit=limit,
    )
    return {"records": [_view(row) for row in rows], "next": following}


def _since(text: str | None) -> str | None:
    """`since` as the trail's time text (UTC, fixed width); InvalidInput naming a bad value."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"since {text!r} is not an ISO date or time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _view(row: AuditRecord) -> dict[str, Any]:
    return {
        "tenant": row.tenant_id,
        **fields_of(
            row,
            "seq",
            "at",
            "actor",
            "actor_role",
            "via",
            "action",
            "resource_type",
            "resource_id",
            "outcome",
            "digest",
        ),
        "detail": json.loads(row.detail),
        **fields_of(row, "prev_hash", "hash"),
    }


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
