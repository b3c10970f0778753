"""A dataset from past production runs: each case is a run's input and, as its expected output,
the final outcome a person approved (for a run that paused for a human and was resumed, the
values after their decision, e.g. the invoice as the reviewer corrected it).

Read through the storage's public methods (threads by their `graph_id`/`assistant_id` metadata,
then each thread's runs), so it works the same on SQLite and PostgreSQL. A thread's runs are
read oldest first and grouped into chains: a run with an input opens one, the runs that resume
it (`command.resume`) or continue it without input join it; the chain's last run holds the
outcome (`Run.output`: the thread's values when it ended).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from agent_ops.errors import InvalidInput
from agent_ops.storage import AssistantFilter, Page, Run, Storage, ThreadFilter
from agent_ops.types import RunStatus
from evals.harness.dataset import Case, write_dataset

__all__ = ["RunsDataset", "RunsQuery", "cases_from_runs", "write_runs_dataset"]

_PAGE = 100


@dataclass(frozen=True)
class RunsQuery:
    assistant: str
    """A graph id (every assistant of that graph) or an assistant's UUID."""
    since: datetime | None = None
    until: datetime | None = None
    status: RunStatus | None = "success"
    """The status the chain ended in; None takes every status."""
    expected_keys: tuple[str, ...] = ()
    """Keep only these keys of the final values as the expected output (default: all)."""


@dataclass
class RunsDataset:
    graph_id: str | None
    cases: list[Case] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    """Why runs were left out -> how many."""

    def summary(self) -> str:
        """One line: the cases kept and, by reason, the runs left out."""
        left = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items()))
        return f"{len(self.cases)} cases from past runs; skipped: {left or 'none'}"


@dataclass
class _Chain:
    first: Run
    last: Run
    human: bool = False


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _input(run: Run) -> Any:
    return (run.kwargs or {}).get("input")


def _resumes(run: Run) -> bool:
    command = (run.kwargs or {}).get("command")
    return isinstance(command, dict) and command.get("resume") is not None


def _chains(runs: list[Run], skipped: Counter[str]) -> list[_Chain]:
    chains: list[_Chain] = []
    current: _Chain | None = None
    orphan = False  # the runs after an input we could not use belong to that unusable case
    for run in sorted(runs, key=lambda r: r.created_at):
        given = _input(run)
        if given is not None:
            if isinstance(given, dict) and given:
                current = _Chain(run, run)
                chains.append(current)
                orphan = False
            else:
                skipped["without a usable input"] += 1
                current, orphan = None, True
            continue
        if current is not None:
            current.last = run
            current.human = current.human or _resumes(run)
        elif not orphan:
            # e.g. its input run was deleted: nothing to put in the case's inputs
            skipped["without a usable input"] += 1
    return chains


async def _threads(storage: Storage, metadata: dict[str, str]) -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        page = await storage.search_threads(
            ThreadFilter(metadata=metadata), Page(_PAGE, offset, "created_at", "asc")
        )
        ids.extend(t.thread_id for t in page)
        if len(page) < _PAGE:
            return ids
        offset += _PAGE


async def _assistants_of(storage: Storage, graph_id: str) -> set[str]:
    ids: set[str] = set()
    offset = 0
    while True:
        page = await storage.search_assistants(
            AssistantFilter(graph_id=graph_id), Page(_PAGE, offset)
        )
        ids.update(a.assistant_id for a in page)
        if len(page) < _PAGE:
            return ids
        offset += _PAGE


async def _runs(storage: Storage, thread_id: str) -> list[Run]:
    runs: list[Run] = []
    offset = 0
    while True:
        page = await storage.list_runs(thread_id, limit=_PAGE, offset=offset)
        runs.extend(page)
        if len(page) < _PAGE:
            return runs
        offset += _PAGE


def _expected(run: Run, keys: tuple[str, ...]) -> dict[str, Any] | None:
    output = run.output
    if not isinstance(output, dict):
        return None
    values = {k: v for k, v in output.items() if not k.startswith("__")}
    return {k: values[k] for k in keys if k in values} if keys else values


async def cases_from_runs(storage: Storage, query: RunsQuery) -> RunsDataset:
    """Build the cases of `query` from the runs in `storage` (opened by the caller)."""
    if query.since and query.until and query.since >= query.until:
        raise InvalidInput(f"--since {query.since.isoformat()} is not before --until")
    if _is_uuid(query.assistant):
        graph_id: str | None = (await storage.get_assistant(query.assistant)).graph_id
        metadata = {"assistant_id": query.assistant}
        assistants = {query.assistant}
    else:
        graph_id, metadata = query.assistant, {"graph_id": query.assistant}
        assistants = await _assistants_of(storage, query.assistant)
    result = RunsDataset(graph_id)
    for thread_id in await _threads(storage, metadata):
        # A thread may also hold runs of another graph's assistant: they are not this case's.
        runs = [r for r in await _runs(storage, thread_id) if r.assistant_id in assistants]
        for chain in _chains(runs, result.skipped):
            started = chain.first.created_at
            if (query.since and started < query.since) or (query.until and started >= query.until):
                continue
            status = chain.last.status
            if query.status is not None and status != query.status:
                result.skipped[f"ending {status}"] += 1
                continue
            expected = _expected(chain.last, query.expected_keys)
            if expected is None:
                result.skipped["without a final output"] += 1
                continue
            result.cases.append(
                Case(
                    id=chain.first.run_id,
                    inputs=dict(_input(chain.first)),
                    expected=expected,
                    tags=(
                        f"assistant:{query.assistant}",
                        f"status:{status}",
                        "human:decided" if chain.human else "human:none",
                    ),
                )
            )
    return result


def write_runs_dataset(found: RunsDataset, out: Path, *, config: Path) -> tuple[Path, Path]:
    """Write `dataset.jsonl` and a `suite.yaml` running it (graph of `config`, the run inputs
    as the graph's input, every expected field compared); return both paths."""
    if not found.cases:
        raise InvalidInput(f"no past runs made a case ({found.summary()}); nothing written")
    out.mkdir(parents=True, exist_ok=True)
    dataset = out / "dataset.jsonl"
    write_dataset(dataset, found.cases)
    fields = sorted({key for case in found.cases for key in case.expected})
    suite = {
        "name": f"{found.graph_id}-runs",
        "graph": found.graph_id,
        "config": str(config.resolve()),
        "dataset": dataset.name,
        "input": "$inputs",
        "scorers": [
            {
                "kind": "fields",
                "output": "",
                "expected": "",
                "match": "normalized",
                "fields": fields,
            },
            {"kind": "outcome"},
        ],
    }
    suite_file = out / "suite.yaml"
    suite_file.write_text(
        "# Built by `agent-ops eval dataset from-runs`: past runs' inputs, and as expected\n"
        "# output the values they ended with (after the human decision, where one was made).\n"
        + yaml.safe_dump(suite, sort_keys=False),
        encoding="utf-8",
    )
    return dataset, suite_file
