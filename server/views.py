"""Records as the LangGraph Server API shows them (field names and shapes of langgraph-sdk)."""

from __future__ import annotations

import re
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
    WebhookMessage,
)


def select_fields(views: list[dict[str, Any]], select: list[str] | None) -> list[dict[str, Any]]:
    """Keep only the `select`ed fields of each view (all of them when `select` is empty)."""
    if not select:
        return views
    return [{k: v for k, v in view.items() if k in select} for view in views]


def extracted(view: dict[str, Any], extract: dict[str, str]) -> dict[str, Any]:
    """The values at `extract`'s paths (`values.messages[-1].content`) into a view, by alias;
    None where a path leads nowhere, as the LangGraph server answers."""
    return {alias: _at(view, path) for alias, path in extract.items()}


def _at(view: dict[str, Any], path: str) -> Any:
    current: Any = view
    for part in re.split(r"\.|\[", path):
        if not part:
            continue
        if part.endswith("]"):
            try:
                index = int(part[:-1])
                current = current[index] if isinstance(current, list) else None
            except (ValueError, IndexError):
                return None
        else:
            current = current.get(part) if isinstance(current, dict) else None
        if current is None:
            return None
    return current


def iso(value: datetime | None) -> str | None:
    """A time as the API shows it: ISO 8601, or null."""
    return None if value is None else value.isoformat()


def fields_of(record: object, *names: str) -> dict[str, Any]:
    """Return the named fields of a record as the API shows them, in that order (times as ISO
    8601); a view lists its fields once here instead of restating `name: record.name`."""
    return {name: _shown(getattr(record, name)) for name in names}


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def assistant_view(a: Assistant) -> dict[str, Any]:
    return fields_of(
        a,
        "assistant_id",
        "graph_id",
        "config",
        "context",
        "created_at",
        "updated_at",
        "metadata",
        "version",
        "name",
        "description",
    )


def thread_view(t: Thread) -> dict[str, Any]:
    return fields_of(
        t,
        "thread_id",
        "created_at",
        "updated_at",
        "state_updated_at",
        "metadata",
        "status",
        "values",
        "interrupts",
        "error",
    )


def run_view(r: Run) -> dict[str, Any]:
    return fields_of(
        r,
        "run_id",
        "thread_id",
        "assistant_id",
        "created_at",
        "updated_at",
        "status",
        "metadata",
        "kwargs",
        "multitask_strategy",
        "attempt",
        "error",
    )


def item_view(i: StoreItem) -> dict[str, Any]:
    return {
        "namespace": list(i.namespace),
        **fields_of(i, "key", "value", "created_at", "updated_at"),
    }


def cron_view(c: Cron) -> dict[str, Any]:
    return {
        **fields_of(
            c,
            "cron_id",
            "assistant_id",
            "thread_id",
            "schedule",
            "payload",
            "metadata",
            "next_run_date",
            "end_time",
            "enabled",
            "created_at",
            "updated_at",
        ),
        # kept in the payload; the sdk's Cron has them as fields of their own
        "timezone": c.payload.get("timezone"),
        "on_run_completed": c.payload.get("on_run_completed"),
        "user_id": None,
    }


def intake_view(item: IntakeItem) -> dict[str, Any]:
    return fields_of(
        item,
        "source",
        "key",
        "origin",
        "summary",
        "run_id",
        "thread_id",
        "assistant_id",
        "created_at",
        "settled_at",
    )


def decision_view(d: ModelDecision) -> dict[str, Any]:
    return {
        **fields_of(d, "decision_id", "run_id", "thread_id", "role", "provider", "model"),
        "prompt": {"name": d.prompt_name, "version": d.prompt_version},
        **fields_of(
            d,
            "input_hash",
            "output",
            "error",
            "error_kind",
            "latency_ms",
            "queue_ms",
            "generation_ms",
        ),
        "tokens": {"input": d.input_tokens, "output": d.output_tokens, "source": d.token_source},
        **fields_of(d, "cost_usd", "created_at"),
    }


def webhook_view(m: WebhookMessage) -> dict[str, Any]:
    """A run's webhook delivery: its state (pending, delivered, failed) and its attempts."""
    return {
        "webhook_id": m.message_id,
        **fields_of(m, "run_id", "thread_id", "url", "state", "attempts"),
        "next_attempt_at": None if m.state != "pending" else iso(m.next_attempt_at),
        "delivering": m.lease_owner,
        **fields_of(m, "delivered_at", "failed_at", "last_error", "created_at"),
    }


def trigger_view(state: TriggerState) -> dict[str, Any]:
    return fields_of(state, "source", "assistant_id", "polls", "started", "failures", "last_error")
