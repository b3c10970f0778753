"""The decision log of model calls on PostgreSQL."""

from __future__ import annotations

from agent_ops.storage import _records as rec
from agent_ops.storage._records import DECISION_COLUMN_COUNT, DECISION_COLUMNS
from agent_ops.storage.postgres.rows import COLUMNS, Tx, Where, maybe_jsonb
from agent_ops.storage.records import ModelDecision


async def record_decision(tx: Tx, d: ModelDecision) -> None:
    await tx.conn.execute(
        f"INSERT INTO model_decisions ({DECISION_COLUMNS})"
        f" VALUES ({', '.join(['%s'] * DECISION_COLUMN_COUNT)})",
        rec.decision_params(d, output=maybe_jsonb(d.output), created_at=d.created_at),
    )


async def list_decisions(tx: Tx, where: Where) -> list[ModelDecision]:
    cur = await tx.conn.execute(
        f"SELECT * FROM model_decisions{where.sql()} ORDER BY seq", where.params
    )
    return [rec.decision(r, COLUMNS) for r in await cur.fetchall()]
