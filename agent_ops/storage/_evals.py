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
from agent_ops.storage._base import Base
from agent_ops.storage._records import reader
from agent_ops.storage._requests import Encode
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

    def params(self, experiment_id: str, json: Encode) -> tuple[Any, ...]:
        """experiment_id, case_id, repeat, status, outputs, expected, scores, latency_ms,
        input_tokens, output_tokens, cost_usd, error, run_id"""
        return (
            experiment_id,
            self.case_id,
            self.repeat,
            self.status,
            json(self.outputs),
            json(self.expected),
            json(self.scores),
            self.latency_ms,
            self.input_tokens,
            self.output_tokens,
            self.cost_usd,
            self.error,
            self.run_id,
        )


@dataclass(frozen=True, slots=True)
class Scored:
    """What scoring an experiment stores: the final settings, the metrics and every case's
    scores, keyed by case id and repeat."""

    settings: Json
    metrics: dict[str, float]
    scores: dict[tuple[str, int], dict[str, float | None]]

    def score_params(self, experiment_id: str, json: Encode) -> list[tuple[Any, ...]]:
        """scores, experiment_id, case_id, repeat: one tuple per case run"""
        return [(json(s), experiment_id, case, repeat) for (case, repeat), s in self.scores.items()]


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
        return await self._tx(
            self._sql.evals.create_eval_experiment, experiment_id, suite, settings, tenant_id
        )

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
        scored = Scored(settings, metrics, scores)
        return await self._tx(self._sql.evals.finish_eval_experiment, experiment_id, scored)

    async def get_eval_experiment(self, experiment_id: str) -> EvalExperiment:
        """Return an experiment; NotFound when there is none."""
        return await self._tx(self._sql.evals.get_eval_experiment, experiment_id)

    async def list_eval_experiments(
        self, *, tenant_id: str | None = None, suite: str | None = None, limit: int = 20
    ) -> list[EvalExperiment]:
        """The newest experiments first."""
        return await self._tx(self._sql.evals.list_eval_experiments, tenant_id, suite, limit)

    async def eval_cases(self, experiment_id: str) -> list[EvalCaseRun]:
        """An experiment's case runs in the order they were recorded."""
        return await self._tx(self._sql.evals.eval_cases, experiment_id)


# -- rows to records (both backends) -------------------------------------------------------------
experiment_of = reader(
    EvalExperiment, json="settings metrics", time="created_at", maybe_time="finished_at"
)
case_of = reader(EvalCaseRun, json="outputs expected scores", time="created_at")


def missing_experiment(experiment_id: str) -> NotFound:
    return NotFound(f"experiment {experiment_id} not found")


def duplicate_experiment(experiment_id: str) -> Conflict:
    return Conflict(f"experiment {experiment_id} already exists")


def duplicate_case(experiment_id: str, case: NewEvalCase) -> Conflict:
    return Conflict(
        f"case {case.case_id!r} (repeat {case.repeat}) of experiment {experiment_id}"
        " is already recorded"
    )
