"""The intake ledger, read-only: which mail and files started which run, and how triggers fare."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agent_ops.storage import IntakeItem
from server.deps import RuntimeDep

router = APIRouter(tags=["intake"])


def intake_view(item: IntakeItem) -> dict[str, Any]:
    return {
        "source": item.source,
        "key": item.key,
        "origin": item.origin,
        "summary": item.summary,
        "run_id": item.run_id,
        "thread_id": item.thread_id,
        "assistant_id": item.assistant_id,
        "created_at": item.created_at.isoformat(),
        "settled_at": None if item.settled_at is None else item.settled_at.isoformat(),
    }


@router.get("/intake")
async def list_intake(
    runtime: RuntimeDep,
    source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Return items taken in by triggers, newest first."""
    items = await runtime.storage.list_intake(source=source, limit=limit, offset=offset)
    return [intake_view(item) for item in items]


@router.get("/intake/triggers")
async def list_triggers(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Return this process's triggers: polls, runs started, consecutive failures, last error."""
    return [
        {
            "source": state.source,
            "assistant_id": state.assistant_id,
            "polls": state.polls,
            "started": state.started,
            "failures": state.failures,
            "last_error": state.last_error,
        }
        for state in runtime.triggers.states.values()
    ]
