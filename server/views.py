"""Records as the LangGraph Server API shows them (field names and shapes of langgraph-sdk)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_ops.runtime import (
    Assistant,
    Cron,
    IntakeItem,
    ModelDecision,
    Run,
    StoreItem,
    Thread,
    TriggerState,
)


def select_fields(views: list[dict[str, Any]], select: list[str] | None) -> list[dict[str, Any]]:
    """Keep only the `select`ed fields of each view (all of them when `select` is empty)."""
    if not select:
        return views
    return [{k: v for k, v in view.items() if k in select} for view in views]


def iso(value: datetime | None) -> str | None:
    """A time as the API shows it: ISO 8601, or null."""
    return None if value is None else value.isoformat()


def assistant_view(a: Assistant) -> dict[str, Any]:
    return {
        "assistant_id": a.assistant_id,
        "graph_id": a.graph_id,
        "config": a.config,
        "context": a.context,
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "metadata": a.metadata,
        "version": a.version,
        "name": a.name,
        "description": a.description,
    }


def thread_view(t: Thread) -> dict[str, Any]:
    return {
        "thread_id": t.thread_id,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "state_updated_at": iso(t.state_updated_at),
        "metadata": t.metadata,
        "status": t.status,
        "values": t.values,
        "interrupts": t.interrupts,
        "error": t.error,
    }


def run_view(r: Run) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "thread_id": r.thread_id,
        "assistant_id": r.assistant_id,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "status": r.status,
        "metadata": r.metadata,
        "kwargs": r.kwargs,
        "multitask_strategy": r.multitask_strategy,
        "attempt": r.attempt,
        "error": r.error,
    }


def item_view(i: StoreItem, score: float | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "namespace": list(i.namespace),
        "key": i.key,
        "value": i.value,
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
    }
    if score is not None:
        view["score"] = score
    return view


def cron_view(c: Cron) -> dict[str, Any]:
    return {
        "cron_id": c.cron_id,
        "assistant_id": c.assistant_id,
        "thread_id": c.thread_id,
        "schedule": c.schedule,
        "payload": c.payload,
        "metadata": c.metadata,
        "next_run_date": iso(c.next_run_date),
        "end_time": iso(c.end_time),
        "enabled": c.enabled,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "user_id": None,
    }


def intake_view(item: IntakeItem) -> dict[str, Any]:
    return {
        "source": item.source,
        "key": item.key,
        "origin": item.origin,
        "summary": item.summary,
        "run_id": item.run_id,
        "thread_id": item.thread_id,
        "assistant_id": item.assistant_id,
        "created_at": iso(item.created_at),
        "settled_at": iso(item.settled_at),
    }


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
        "created_at": iso(d.created_at),
    }


def trigger_view(state: TriggerState) -> dict[str, Any]:
    return {
        "source": state.source,
        "assistant_id": state.assistant_id,
        "polls": state.polls,
        "started": state.started,
        "failures": state.failures,
        "last_error": state.last_error,
    }
