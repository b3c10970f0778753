"""Rows to records, written once for both backends.

A backend's rows differ only in how a column holds a value (SQLite: JSON text, epoch seconds, a
joined namespace; PostgreSQL: jsonb, timestamptz, text[]); each backend names its `Columns`
and these functions build the same records from either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent_ops.storage.records import (
    Assistant,
    Cron,
    IntakeItem,
    ModelDecision,
    Run,
    StoreItem,
    Thread,
)
from agent_ops.types import DEFAULT_TENANT


class Row(Protocol):
    """A row read by name: `sqlite3.Row` or psycopg's dict row."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Columns:
    """How one backend's columns hold JSON, times and namespaces."""

    json: Callable[[Any], Any]
    time: Callable[[Any], datetime]
    namespace: Callable[[Any], tuple[str, ...]]

    def maybe_time(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)


def assistant(r: Row, c: Columns, *, version_row: bool = False) -> Assistant:
    """A version row has no `updated_at`: the version's creation is its last change."""
    return Assistant(
        assistant_id=r["assistant_id"],
        graph_id=r["graph_id"],
        name=r["name"],
        description=r["description"],
        config=c.json(r["config"]),
        context=c.json(r["context"]),
        metadata=c.json(r["metadata"]),
        version=r["version"],
        created_at=c.time(r["created_at"]),
        updated_at=c.time(r["created_at"] if version_row else r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def thread(r: Row, c: Columns) -> Thread:
    return Thread(
        thread_id=r["thread_id"],
        status=r["status"],
        metadata=c.json(r["metadata"]),
        values=c.json(r["values"]),
        interrupts=c.json(r["interrupts"]),
        error=r["error"],
        created_at=c.time(r["created_at"]),
        updated_at=c.time(r["updated_at"]),
        state_updated_at=c.time(r["state_updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def run(r: Row, c: Columns) -> Run:
    return Run(
        run_id=r["run_id"],
        thread_id=r["thread_id"],
        assistant_id=r["assistant_id"],
        status=r["status"],
        metadata=c.json(r["metadata"]),
        kwargs=c.json(r["kwargs"]),
        multitask_strategy=r["multitask_strategy"],
        stateless=bool(r["stateless"]),
        attempt=r["attempt"],
        worker_id=r["worker_id"],
        lease_expires_at=c.maybe_time(r["lease_expires_at"]),
        cancel_action=r["cancel_action"],
        error=r["error"],
        not_before=c.time(r["not_before"]),
        created_at=c.time(r["created_at"]),
        updated_at=c.time(r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
        output=c.json(r["output"]),
    )


def item(r: Row, c: Columns) -> StoreItem:
    return StoreItem(
        namespace=c.namespace(r["namespace"]),
        key=r["key"],
        value=c.json(r["value"]),
        created_at=c.time(r["created_at"]),
        updated_at=c.time(r["updated_at"]),
        expires_at=c.maybe_time(r["expires_at"]),
    )


def cron(r: Row, c: Columns) -> Cron:
    return Cron(
        cron_id=r["cron_id"],
        assistant_id=r["assistant_id"],
        thread_id=r["thread_id"],
        schedule=r["schedule"],
        payload=c.json(r["payload"]),
        metadata=c.json(r["metadata"]),
        next_run_date=c.maybe_time(r["next_run_date"]),
        end_time=c.maybe_time(r["end_time"]),
        enabled=bool(r["enabled"]),
        created_at=c.time(r["created_at"]),
        updated_at=c.time(r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def intake(r: Row, c: Columns) -> IntakeItem:
    return IntakeItem(
        source=r["source"],
        key=r["item_key"],
        origin=r["origin"],
        summary=c.json(r["summary"]),
        run_id=r["run_id"],
        thread_id=r["thread_id"],
        assistant_id=r["assistant_id"],
        created_at=c.time(r["created_at"]),
        settled_at=c.maybe_time(r["settled_at"]),
    )


DECISION_COLUMNS = (
    "decision_id, tenant_id, run_id, thread_id, role, provider, model, prompt_name,"
    " prompt_version, input_hash, output, error, latency_ms, input_tokens, output_tokens,"
    " token_source, cost_usd, created_at"
)
DECISION_COLUMN_COUNT = DECISION_COLUMNS.count(",") + 1


def decision_params(d: ModelDecision, *, output: Any, created_at: Any) -> tuple[Any, ...]:
    """The values of one row, in `DECISION_COLUMNS` order; the backend encodes output and time."""
    return (
        d.decision_id,
        DEFAULT_TENANT,
        d.run_id,
        d.thread_id,
        d.role,
        d.provider,
        d.model,
        d.prompt_name,
        d.prompt_version,
        d.input_hash,
        output,
        d.error,
        d.latency_ms,
        d.input_tokens,
        d.output_tokens,
        d.token_source,
        d.cost_usd,
        created_at,
    )


def decision(r: Row, c: Columns) -> ModelDecision:
    return ModelDecision(
        decision_id=r["decision_id"],
        run_id=r["run_id"],
        thread_id=r["thread_id"],
        role=r["role"],
        provider=r["provider"],
        model=r["model"],
        prompt_name=r["prompt_name"],
        prompt_version=r["prompt_version"],
        input_hash=r["input_hash"],
        output=c.json(r["output"]),
        error=r["error"],
        latency_ms=r["latency_ms"],
        input_tokens=r["input_tokens"],
        output_tokens=r["output_tokens"],
        token_source=r["token_source"],
        cost_usd=r["cost_usd"],
        created_at=c.time(r["created_at"]),
    )
