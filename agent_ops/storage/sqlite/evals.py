"""Offline evaluation results on SQLite: experiments and their case runs."""

from __future__ import annotations

import sqlite3

from agent_ops.storage import _evals
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, dumps
from agent_ops.types import Json


def create_eval_experiment(
    tx: Tx, experiment_id: str, suite: str, settings: Json, tenant_id: str
) -> _evals.EvalExperiment:
    try:
        row = tx.conn.execute(
            "INSERT INTO eval_experiments (experiment_id, tenant_id, suite, settings, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING *",
            (experiment_id, tenant_id, suite, dumps(settings), tx.now),
        ).fetchone()
    except sqlite3.IntegrityError:
        raise _evals.duplicate_experiment(experiment_id) from None
    return _evals.experiment_of(row, COLUMNS)


def add_eval_case(tx: Tx, experiment_id: str, case: _evals.NewEvalCase) -> None:
    if (
        tx.conn.execute(
            "UPDATE eval_experiments SET cases = cases + 1 WHERE experiment_id = ?"
            " RETURNING experiment_id",
            (experiment_id,),
        ).fetchone()
        is None
    ):
        raise _evals.missing_experiment(experiment_id)
    try:
        tx.conn.execute(
            "INSERT INTO eval_cases (experiment_id, case_id, repeat, status, outputs, expected,"
            " scores, latency_ms, input_tokens, output_tokens, cost_usd, error, run_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*case.params(experiment_id, dumps), tx.now),
        )
    except sqlite3.IntegrityError:
        raise _evals.duplicate_case(experiment_id, case) from None


def finish_eval_experiment(
    tx: Tx, experiment_id: str, scored: _evals.Scored
) -> _evals.EvalExperiment:
    row = tx.conn.execute(
        "UPDATE eval_experiments SET settings = ?, metrics = ?, finished_at = ? WHERE experiment_id = ?"
        " RETURNING *",
        (dumps(scored.settings), dumps(scored.metrics), tx.now, experiment_id),
    ).fetchone()
    if row is None:
        raise _evals.missing_experiment(experiment_id)
    tx.conn.executemany(
        "UPDATE eval_cases SET scores = ? WHERE experiment_id = ? AND case_id = ? AND repeat = ?",
        scored.score_params(experiment_id, dumps),
    )
    return _evals.experiment_of(row, COLUMNS)


def get_eval_experiment(tx: Tx, experiment_id: str) -> _evals.EvalExperiment:
    row = tx.conn.execute(
        "SELECT * FROM eval_experiments WHERE experiment_id = ?", (experiment_id,)
    ).fetchone()
    if row is None:
        raise _evals.missing_experiment(experiment_id)
    return _evals.experiment_of(row, COLUMNS)


def list_eval_experiments(
    tx: Tx, tenant_id: str | None, suite: str | None, limit: int
) -> list[_evals.EvalExperiment]:
    rows = tx.conn.execute(
        "SELECT * FROM eval_experiments WHERE (:tenant IS NULL OR tenant_id = :tenant)"
        " AND (:suite IS NULL OR suite = :suite)"
        " ORDER BY created_at DESC, experiment_id DESC LIMIT :limit",
        {"tenant": tenant_id, "suite": suite, "limit": limit},
    ).fetchall()
    return [_evals.experiment_of(r, COLUMNS) for r in rows]


def eval_cases(tx: Tx, experiment_id: str) -> list[_evals.EvalCaseRun]:
    rows = tx.conn.execute(
        "SELECT * FROM eval_cases WHERE experiment_id = ? ORDER BY created_at, case_id, repeat",
        (experiment_id,),
    ).fetchall()
    return [_evals.case_of(r, COLUMNS) for r in rows]
