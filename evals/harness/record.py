"""An experiment recorded in the agent-ops database as it runs, besides its results folder: the
experiment when it starts, each case run as it ends, the metrics and scores once scored.

Values go in as the folder's JSON has them (through the same `json.dumps(default=str)`), so a
row read back equals the folder's line for that case."""

from __future__ import annotations

import json
from typing import Any

from agent_ops.storage import NewEvalCase, Storage, create_storage
from evals.harness.results import CaseResult

__all__ = ["Recorder", "as_json"]


def as_json(value: Any) -> Any:
    """`value` as the results folder writes it (anything not JSON becomes its str)."""
    return json.loads(json.dumps(value, default=str))


class Recorder:
    """Records one experiment in the database at `url` (its own small pool: the runs may go to
    another database)."""

    def __init__(self, url: str, experiment: str, suite: str) -> None:
        self.experiment = experiment
        self.suite = suite
        self._storage: Storage = create_storage(url, pool_size=2)

    async def start(self, settings: dict[str, Any]) -> None:
        await self._storage.open()
        try:
            await self._storage.create_eval_experiment(
                self.experiment, self.suite, as_json(settings)
            )
        except BaseException:
            await self._storage.close()
            raise

    async def case(self, result: CaseResult) -> None:
        await self._storage.add_eval_case(
            self.experiment,
            NewEvalCase(
                case_id=result.id,
                repeat=result.repeat,
                status=result.status,
                outputs=as_json(result.output),
                expected=as_json(result.expected),
                latency_ms=result.latency_ms,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                cost_usd=result.cost_usd,
                error=result.error,
                run_id=result.run_id,
            ),
        )

    async def finish(
        self, settings: dict[str, Any], summary: dict[str, Any], cases: list[CaseResult]
    ) -> None:
        await self._storage.finish_eval_experiment(
            self.experiment,
            as_json(settings),
            as_json(summary["metrics"]),
            {(c.id, c.repeat): as_json(c.scores) for c in cases},
        )

    async def close(self) -> None:
        await self._storage.close()
