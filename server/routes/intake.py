"""The intake ledger, read-only: which mail and files started which run, and how triggers fare."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agent_ops import MAX_INT
from server.deps import RuntimeDep
from server.views import intake_view, trigger_view

router = APIRouter(tags=["intake"])


@router.get("/intake")
async def list_intake(
    runtime: RuntimeDep,
    source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[dict[str, Any]]:
    """Return items taken in by triggers, newest first."""
    items = await runtime.triggers.ledger(source=source, limit=limit, offset=offset)
    return [intake_view(item) for item in items]


@router.get("/intake/triggers")
async def list_triggers(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Return this process's triggers: polls, runs started, consecutive failures, last error."""
    return [trigger_view(state) for state in runtime.triggers.states.values()]
