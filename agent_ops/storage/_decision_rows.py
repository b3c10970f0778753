"""`model_decisions` rows and records, for both backends (their rows are both mappings)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent_ops.storage.records import ModelDecision
from agent_ops.types import DEFAULT_TENANT, Json

COLUMNS = (
    "decision_id, tenant_id, run_id, thread_id, role, provider, model, prompt_name,"
    " prompt_version, input_hash, output, error, latency_ms, input_tokens, output_tokens,"
    " token_source, cost_usd, created_at, error_kind, queue_ms, generation_ms"
)
COLUMN_COUNT = COLUMNS.count(",") + 1


def decision_params(d: ModelDecision, *, output: Any, created_at: Any) -> tuple[Any, ...]:
    """The values of one row, in `COLUMNS` order; the backend converts output and time."""
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
        d.error_kind,
        d.queue_ms,
        d.generation_ms,
    )


def decision_from_row(
    r: Mapping[str, Any], *, output: Json | None, created_at: datetime
) -> ModelDecision:
    """Build the record; the backend converts the two columns whose types differ."""
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
        output=output,
        error=r["error"],
        latency_ms=r["latency_ms"],
        input_tokens=r["input_tokens"],
        output_tokens=r["output_tokens"],
        token_source=r["token_source"],
        cost_usd=r["cost_usd"],
        created_at=created_at,
        error_kind=r["error_kind"],
        queue_ms=r["queue_ms"],
        generation_ms=r["generation_ms"],
    )
