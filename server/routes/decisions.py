"""The decision log of a run: every model call its graph made (audit trail)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.deps import RunId, RuntimeDep, ThreadId
from server.views import decision_view

router = APIRouter(tags=["decisions"])


@router.get("/threads/{thread_id}/runs/{run_id}/decisions")
async def list_decisions(
    thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """Return the run's model calls in order; 404 for a run that never existed."""
    decisions = await runtime.runs.decisions(run_id, thread_id=thread_id)
    return [decision_view(d) for d in decisions]
