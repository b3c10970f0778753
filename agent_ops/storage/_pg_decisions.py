"""The decision log of model calls on PostgreSQL."""

from __future__ import annotations

from datetime import UTC

from agent_ops.storage._decision_rows import (
    COLUMN_COUNT,
    COLUMNS,
    decision_from_row,
    decision_params,
)
from agent_ops.storage._pg_rows import Tx, Where, jsonb
from agent_ops.storage.records import ModelDecision


async def record_decision(tx: Tx, d: ModelDecision) -> None:
    output = None if d.output is None else jsonb(d.output)
    await tx.conn.execute(
        f"INSERT INTO model_decisions ({COLUMNS}) VALUES ({', '.join(['%s'] * COLUMN_COUNT)})",
        decision_params(d, output=output, created_at=d.created_at),
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
