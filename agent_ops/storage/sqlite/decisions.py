"""The decision log of model calls on SQLite."""

from __future__ import annotations

from agent_ops.storage import _records as rec
from agent_ops.storage._records import DECISION_COLUMN_COUNT, DECISION_COLUMNS
from agent_ops.storage.records import ModelDecision
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, Where, dumps


def record_decision(tx: Tx, d: ModelDecision) -> None:
    tx.conn.execute(
        f"INSERT INTO model_decisions ({DECISION_COLUMNS})"
        f" VALUES ({', '.join('?' * DECISION_COLUMN_COUNT)})",
        rec.decision_params(
            d,
            output=None if d.output is None else dumps(d.output),
            created_at=d.created_at.timestamp(),
        ),
    )


def list_decisions(tx: Tx, where: Where) -> list[ModelDecision]:
    rows = tx.conn.execute(f"SELECT * FROM model_decisions{where.sql()} ORDER BY seq", where.params)
    return [rec.decision(r, COLUMNS) for r in rows]
