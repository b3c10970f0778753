"""The decision log of a run: every model call its graph made (audit trail)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agent_ops.storage import ModelDecision
from server.deps import RunId, RuntimeDep, ThreadId

router = APIRouter(tags=["decisions"])


def decision_view(d: ModelDecision) -> dict[str, Any]:
    return {
        "decision_id": d.decision_id,
        "run_id": d.run_id,
        "thread_id": d.thread_id,
        "role": d.role,
        "provider": d.provider,
        "model": d.model,
        "prompt": {"name": d.prompt_name, "version": d.prompt_version},
        "input_hash": d.input_hash,
        "output": d.output,
        "error": d.error,
        "error_kind": d.error_kind,
        "latency_ms": d.latency_ms,
        "queue_ms": d.queue_ms,
        "generation_ms": d.generation_ms,
        "tokens": {"input": d.input_tokens, "output": d.output_tokens, "source": d.token_source},
        "cost_usd": d.cost_usd,
        "created_at": d.created_at.isoformat(),
    }


@router.get("/threads/{thread_id}/runs/{run_id}/decisions")
async def list_decisions(
    thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """Return the run's model calls in order; 404 for a run that never existed."""
    decisions = await runtime.storage.list_decisions(run_id=run_id, thread_id=thread_id)
    if not decisions:
        # The log outlives deleted runs, so only an empty answer needs the run to exist.
        await runtime.storage.get_run(run_id, thread_id=thread_id)
    return [decision_view(d) for d in decisions]
