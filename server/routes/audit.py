"""The audit trail, read-only: the caller's tenant's records in chain order, a page at a time;
and the approvals waiting for a decision, with the policy's rules and escalation."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any

from fastapi import APIRouter, Query

from agent_ops.runtime import AuditFilter, PendingApproval, audit_view
from server.deps import RuntimeDep
from server.views import fields_of

router = APIRouter(tags=["audit"])


@router.get("/audit")
async def list_audit(
    runtime: RuntimeDep, wanted: Annotated[AuditFilter, Query()]
) -> dict[str, Any]:
    """Return audit records oldest first (filters match exactly; `since` is an ISO time) and
    `next`, the `after` cursor of the following page (null on the last page)."""
    rows, following = await runtime.audit_page(wanted)
    return {"records": [audit_view(row) for row in rows], "next": following}


@router.get("/approvals")
async def list_approvals(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Return the interrupts waiting for a decision, oldest first: the rules that apply, who has
    approved so far, and whether each is overdue (escalated to `escalated_to`)."""
    return [_pending_view(p) for p in await runtime.pending_approvals()]


def _pending_view(pending: PendingApproval) -> dict[str, Any]:
    # The inbox shows the whole record, in its declared order (a field added there is shown).
    return fields_of(pending, *(field.name for field in fields(pending)))
