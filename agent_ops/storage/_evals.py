"""Offline evaluation results in storage: experiments and their case runs as values, and the
`Storage` part written once above both backends (each method one transaction of the backend's
`evals` module function of that name).

`agent-ops eval run` records an experiment when it starts, each case run as it ends, and the
metrics and per-case scores when it is scored, so the server's database shows an experiment in
progress and keeps the finished cases of one that crashed. The results folder holds the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent_ops.errors import Conflict, NotFound
from agent_ops.storage._records import Columns
from agent_ops.storage._resources import Base
from agent_ops.types import DEFAULT_TENANT, Json

__all__ = ["EvalCaseRun", "EvalExperiment", "EvalResults", "NewEvalCase"]


@dataclass(frozen=True, slots=True)
class EvalExperiment:
    """One experiment: its suite, how it was run (`settings`) and, once scored, its metrics."""

    experiment_id: str
    tenant_id: str
    suite: str
    settings: Json
    metrics: dict[str, float] | None
    cases: int
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewEvalCase:
    """One run of one case, as it ended (its scores come when the experiment is scored)."""

    case_id: str
    repeat: int
    status: str
    outputs: Any
    expected: Any
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    run_id: str | None = None
    scores: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EvalCaseRun:
    """A stored case run."""

    experiment_id: str
    case_id: str
    repeat: int
    status: str
    outputs: Any
    expected: Any
    scores: dict[str, float | None]
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None
    run_id: str | None
    created_at: datetime


class EvalResults(Base):
    """Offline evaluation experiments and their case runs."""

    async def create_eval_experiment(
        self, experiment_id: str, suite: str, settings: Json, *, tenant_id: str = DEFAULT_TENANT
    ) -> EvalExperiment:
        """Record an experiment as started; Conflict when one of that id exists."""
        if not experiment_id or not suite:
            raise ValueError("an experiment needs an id and a suite")
        created: EvalExperiment = await self._tx(
            self._sql.evals.create_eval_experiment, experiment_id, suite, settings, tenant_id
        )
        return created

    async def add_eval_case(self, experiment_id: str, case: NewEvalCase) -> None:
        """Record one case run; NotFound when there is no such experiment, Conflict when that
        case and repeat are already recorded."""
        await self._tx(self._sql.evals.add_eval_case, experiment_id, case)

    async def finish_eval_experiment(
        self,
        experiment_id: str,
        settings: Json,
        metrics: dict[str, float],
        scores: dict[tuple[str, int], dict[str, float | None]],
    ) -> EvalExperiment:
        """Store the final settings (with what only the end knows: cache hits, wall time), the
        metrics and every case's scores (keyed by case id and repeat) in one transaction."""
        finished: EvalExperiment = await self._tx(
            self._sql.evals.finish_eval_experiment, experiment_id, settings, metrics, scores
        )
        return finished

    async def get_eval_experiment(self, experiment_id: str) -> EvalExperiment:
        """Return an experiment; NotFound when there is none."""
        found: EvalExperiment = await self._tx(self._sql.evals.get_eval_experiment, experiment_id)
        return found

    async def list_eval_experiments(
        self, *, tenant_id: str | None = None, suite: str | None = None, limit: int = 20
    ) -> list[EvalExperiment]:
        """The newest experiments first."""
        found: list[EvalExperiment] = await self._tx(
            self._sql.evals.list_eval_experiments, tenant_id, suite, limit
        )
        return found

    async def eval_cases(self, experiment_id: str) -> list[EvalCaseRun]:
        """An experiment's case runs in the order they were recorded."""
        found: list[EvalCaseRun] = await self._tx(self._sql.evals.eval_cases, experiment_id)
        return found


# -- rows to records (both backends) -------------------------------------------------------------
def experiment_of(row: Any, cols: Columns) -> EvalExperiment:
    return EvalExperiment(
        experiment_id=row["experiment_id"],
        tenant_id=row["tenant_id"],
        suite=row["suite"],
        settings=cols.json(row["settings"]),
        metrics=None if row["metrics"] is None else cols.json(row["metrics"]),
        cases=int(row["cases"]),
        created_at=cols.time(row["created_at"]),
        finished_at=cols.maybe_time(row["finished_at"]),
    )


def case_of(row: Any, cols: Columns) -> EvalCaseRun:
    return EvalCaseRun(
        experiment_id=row["experiment_id"],
        case_id=row["case_id"],
        repeat=int(row["repeat"]),
        status=row["status"],
        outputs=None if row["outputs"] is None else cols.json(row["outputs"]),
        expected=cols.json(row["expected"]),
        scores=cols.json(row["scores"]),
        latency_ms=float(row["latency_ms"]),
        input_tokens=int(row["input_tokens"]),
        output_tokens=int(row["output_tokens"]),
        cost_usd=float(row["cost_usd"]),
        error=row["error"],
        run_id=row["run_id"],
        created_at=cols.time(row["created_at"]),
    )


def missing_experiment(experiment_id: str) -> NotFound:
    return NotFound(f"experiment {experiment_id} not found")


def duplicate_experiment(experiment_id: str) -> Conflict:
    return Conflict(f"experiment {experiment_id} already exists")


def duplicate_case(experiment_id: str, case: NewEvalCase) -> Conflict:
    return Conflict(
        f"case {case.case_id!r} (repeat {case.repeat}) of experiment {experiment_id}"
        " is already recorded"
    )
