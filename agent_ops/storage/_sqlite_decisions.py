"""The decision log of model calls on SQLite, as functions that each run in one transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from agent_ops.storage._decision_rows import (
    COLUMN_COUNT,
    COLUMNS,
    decision_from_row,
    decision_params,
)
from agent_ops.storage._sqlite_rows import dumps, loads
from agent_ops.storage.records import ModelDecision


def record_decision(c: sqlite3.Connection, d: ModelDecision) -> None:
    output = None if d.output is None else dumps(d.output)
    c.execute(
        f"INSERT INTO model_decisions ({COLUMNS}) VALUES ({', '.join('?' * COLUMN_COUNT)})",
        decision_params(d, output=output, created_at=d.created_at.timestamp()),
    )


def list_decisions(
    c: sqlite3.Connection, run_id: str | None, thread_id: str | None
) -> list[ModelDecision]:
    clauses, params = [], []
    if run_id is not None:
        clauses.append("run_id = ?")
        params.append(run_id)
    if thread_id is not None:
        clauses.append("thread_id = ?")
        params.append(thread_id)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    rows = c.execute(f"SELECT * FROM model_decisions{where} ORDER BY seq", params).fetchall()
    return [_decision(r) for r in rows]


def _decision(r: sqlite3.Row) -> ModelDecision:
    return decision_from_row(
        dict(zip(r.keys(), r, strict=True)),
        output=loads(r["output"]),
        created_at=datetime.fromtimestamp(r["created_at"], UTC),
    )
