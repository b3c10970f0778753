"""Offline evaluation results on PostgreSQL: experiments and their case runs."""

from __future__ import annotations

import psycopg

from agent_ops.storage._evals import (
    EvalCaseRun,
    EvalExperiment,
    NewEvalCase,
    case_of,
    duplicate_case,
    duplicate_experiment,
    experiment_of,
    missing_experiment,
)
from agent_ops.storage.postgres.rows import COLUMNS, Tx, jsonb, no_transaction
from agent_ops.types import Json


@no_transaction
async def create_eval_experiment(
    tx: Tx, experiment_id: str, suite: str, settings: Json, tenant_id: str
) -> EvalExperiment:
    try:
        cur = await tx.conn.execute(
            "INSERT INTO eval_experiments (experiment_id, tenant_id, suite, settings)"
            " VALUES (%s, %s, %s, %s) RETURNING *",
            (experiment_id, tenant_id, suite, jsonb(settings)),
        )
    except psycopg.errors.UniqueViolation:
        raise duplicate_experiment(experiment_id) from None
    return experiment_of(await cur.fetchone(), COLUMNS)


async def add_eval_case(tx: Tx, experiment_id: str, case: NewEvalCase) -> None:
    cur = await tx.conn.execute(
        "UPDATE eval_experiments SET cases = cases + 1 WHERE experiment_id = %s"
        " RETURNING experiment_id",
        (experiment_id,),
    )
    if await cur.fetchone() is None:
        raise missing_experiment(experiment_id)
    try:
        async with tx.conn.transaction():  # a savepoint: the duplicate leaves the tx usable
            await tx.conn.execute(
                "INSERT INTO eval_cases (experiment_id, case_id, repeat, status, outputs,"
                " expected, scores, latency_ms, input_tokens, output_tokens, cost_usd, error,"
                " run_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, clock_timestamp())",
                (
                    experiment_id,
                    case.case_id,
                    case.repeat,
                    case.status,
                    jsonb(case.outputs),
                    jsonb(case.expected),
                    jsonb(case.scores),
                    case.latency_ms,
                    case.input_tokens,
                    case.output_tokens,
                    case.cost_usd,
                    case.error,
                    case.run_id,
                ),
            )
    except psycopg.errors.UniqueViolation:
        raise duplicate_case(experiment_id, case) from None


async def finish_eval_experiment(
    tx: Tx,
    experiment_id: str,
    settings: Json,
    metrics: dict[str, float],
    scores: dict[tuple[str, int], dict[str, float | None]],
) -> EvalExperiment:
    cur = await tx.conn.execute(
        "UPDATE eval_experiments SET settings = %s, metrics = %s, finished_at = now() WHERE experiment_id = %s"
        " RETURNING *",
        (jsonb(settings), jsonb(metrics), experiment_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise missing_experiment(experiment_id)
    async with tx.conn.cursor() as many:
        await many.executemany(
            "UPDATE eval_cases SET scores = %s"
            " WHERE experiment_id = %s AND case_id = %s AND repeat = %s",
            [(jsonb(s), experiment_id, case_id, repeat) for (case_id, repeat), s in scores.items()],
        )
    return experiment_of(row, COLUMNS)


@no_transaction
async def get_eval_experiment(tx: Tx, experiment_id: str) -> EvalExperiment:
    cur = await tx.conn.execute(
        "SELECT * FROM eval_experiments WHERE experiment_id = %s", (experiment_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise missing_experiment(experiment_id)
    return experiment_of(row, COLUMNS)


@no_transaction
async def list_eval_experiments(
    tx: Tx, tenant_id: str | None, suite: str | None, limit: int
) -> list[EvalExperiment]:
    cur = await tx.conn.execute(
        "SELECT * FROM eval_experiments WHERE (%s::text IS NULL OR tenant_id = %s)"
        " AND (%s::text IS NULL OR suite = %s)"
        " ORDER BY created_at DESC, experiment_id DESC LIMIT %s",
        (tenant_id, tenant_id, suite, suite, limit),
    )
    return [experiment_of(r, COLUMNS) for r in await cur.fetchall()]


@no_transaction
async def eval_cases(tx: Tx, experiment_id: str) -> list[EvalCaseRun]:
    cur = await tx.conn.execute(
        "SELECT * FROM eval_cases WHERE experiment_id = %s ORDER BY created_at, case_id, repeat",
        (experiment_id,),
    )
    return [case_of(r, COLUMNS) for r in await cur.fetchall()]
