"""Offline evaluation results on PostgreSQL: experiments and their case runs."""

from __future__ import annotations

import psycopg

from agent_ops.storage import _evals
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb, no_transaction, one
from agent_ops.types import Json


@no_transaction
async def create_eval_experiment(
    tx: Tx, experiment_id: str, suite: str, settings: Json, tenant_id: str
) -> _evals.EvalExperiment:
    try:
        cur = await tx.conn.execute(
            "INSERT INTO eval_experiments (experiment_id, tenant_id, suite, settings)"
            " VALUES (%s, %s, %s, %s) RETURNING *",
            (experiment_id, tenant_id, suite, jsonb(settings)),
        )
    except psycopg.errors.UniqueViolation:
        raise _evals.duplicate_experiment(experiment_id) from None
    return _evals.experiment_of(await one(cur, LookupError("the INSERT returned no row")), COLUMNS)


async def add_eval_case(tx: Tx, experiment_id: str, case: _evals.NewEvalCase) -> None:
    cur = await tx.conn.execute(
        "UPDATE eval_experiments SET cases = cases + 1 WHERE experiment_id = %s"
        " RETURNING experiment_id",
        (experiment_id,),
    )
    if await cur.fetchone() is None:
        raise _evals.missing_experiment(experiment_id)
    try:
        async with tx.conn.transaction():  # a savepoint: the duplicate leaves the tx usable
            await tx.conn.execute(
                "INSERT INTO eval_cases (experiment_id, case_id, repeat, status, outputs,"
                " expected, scores, latency_ms, input_tokens, output_tokens, cost_usd, error,"
                " run_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, clock_timestamp())",
                case.params(experiment_id, jsonb),
            )
    except psycopg.errors.UniqueViolation:
        raise _evals.duplicate_case(experiment_id, case) from None


async def finish_eval_experiment(
    tx: Tx, experiment_id: str, scored: _evals.Scored
) -> _evals.EvalExperiment:
    cur = await tx.conn.execute(
        "UPDATE eval_experiments SET settings = %s, metrics = %s, finished_at = now() WHERE experiment_id = %s"
        " RETURNING *",
        (jsonb(scored.settings), jsonb(scored.metrics), experiment_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise _evals.missing_experiment(experiment_id)
    async with tx.conn.cursor() as many:
        await many.executemany(
            "UPDATE eval_cases SET scores = %s"
            " WHERE experiment_id = %s AND case_id = %s AND repeat = %s",
            scored.score_params(experiment_id, jsonb),
        )
    return _evals.experiment_of(row, COLUMNS)


@no_transaction
async def get_eval_experiment(tx: Tx, experiment_id: str) -> _evals.EvalExperiment:
    cur = await tx.conn.execute(
        "SELECT * FROM eval_experiments WHERE experiment_id = %s", (experiment_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise _evals.missing_experiment(experiment_id)
    return _evals.experiment_of(row, COLUMNS)


@no_transaction
async def list_eval_experiments(
    tx: Tx, tenant_id: str | None, suite: str | None, limit: int
) -> list[_evals.EvalExperiment]:
    cur = await tx.conn.execute(
        "SELECT * FROM eval_experiments WHERE (%s::text IS NULL OR tenant_id = %s)"
        " AND (%s::text IS NULL OR suite = %s)"
        " ORDER BY created_at DESC, experiment_id DESC LIMIT %s",
        (tenant_id, tenant_id, suite, suite, limit),
    )
    return [_evals.experiment_of(r, COLUMNS) for r in await cur.fetchall()]


@no_transaction
async def eval_cases(tx: Tx, experiment_id: str) -> list[_evals.EvalCaseRun]:
    cur = await tx.conn.execute(
        "SELECT * FROM eval_cases WHERE experiment_id = %s ORDER BY created_at, case_id, repeat",
        (experiment_id,),
    )
    return [_evals.case_of(r, COLUMNS) for r in await cur.fetchall()]
