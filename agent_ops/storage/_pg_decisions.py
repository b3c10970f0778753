"""The decision log of model calls on PostgreSQL."""

from __future__ import annotations

from datetime import UTC

from agent_ops.storage._decision_rows import decision_from_row
from agent_ops.storage._pg_rows import Tx, Where, jsonb
from agent_ops.storage.records import ModelDecision
from agent_ops.types import DEFAULT_TENANT


async def record_decision(tx: Tx, d: ModelDecision) -> None:
    await tx.conn.execute(
        "INSERT INTO model_decisions (decision_id, tenant_id, run_id, thread_id, role, provider,"
        " model, prompt_name, prompt_version, input_hash, output, error, latency_ms,"
        " input_tokens, output_tokens, cost_usd, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
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
            None if d.output is None else jsonb(d.output),
            d.error,
            d.latency_ms,
            d.input_tokens,
            d.output_tokens,
            d.cost_usd,
            d.created_at,
        ),
    )


async def list_decisions(tx: Tx, run_id: str | None, thread_id: str | None) -> list[ModelDecision]:
    where = Where()
    if run_id is not None:
        where.add("run_id = %s", run_id)
    if thread_id is not None:
        where.add("thread_id = %s", thread_id)
    cur = await tx.conn.execute(
        f"SELECT * FROM model_decisions{where.sql()} ORDER BY seq", where.params
    )
    return [
        decision_from_row(r, output=r["output"], created_at=r["created_at"].astimezone(UTC))
        for r in await cur.fetchall()
    ]
