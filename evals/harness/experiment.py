"""Run an experiment: every case of a suite's dataset through the real graph, in process, through
the runtime and its checkpointer (a fresh SQLite file in the experiment's folder unless a database
is given), with the models the suite names seen through the replay cache; then score it and write
the results folder."""

from __future__ import annotations

import asyncio
import importlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_ops.deps import Deps
from agent_ops.errors import ConfigError, InvalidInput
from agent_ops.models import (
    Models,
    ModelsConfig,
    ReplayCache,
    ReplayMode,
    load_models_config,
    parse_spec,
)
from agent_ops.runtime import GraphRegistry, RunOptions, RunRequest, Runtime, ThreadRequest
from agent_ops.settings import Settings
from agent_ops.storage import Run, create_storage
from evals.harness.dataset import Case, read_dataset
from evals.harness.record import Recorder
from evals.harness.results import CaseResult, Experiment, Status
from evals.harness.scorers import Scorer, build_scorer, means
from evals.harness.suite import Suite

__all__ = [
    "ExperimentOptions",
    "check_prompts",
    "run_experiment",
    "summarize",
    "with_overrides",
]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExperimentOptions:
    suite: Suite
    results: Path = Path("eval-results")
    roles: Mapping[str, str] = field(default_factory=dict)
    """role -> provider spec (`--set`): the role answered by that provider alone."""
    prompts: Mapping[str, str] = field(default_factory=dict)
    """prompt name -> version (`--prompt`)."""
    concurrency: int = 1
    repeat: int = 1
    limit: int | None = None
    replay: ReplayMode = "record"
    replay_dir: Path | None = None
    """The replay cache folder (default: the suite's `replay`)."""
    database_url: str | None = None
    """Where the runs and checkpoints go (default: runs.db in the experiment's folder)."""
    record_url: str | None = None
    """The database the experiment and its case runs are recorded in as it runs, besides the
    folder (`agent-ops eval run`: the settings' database); None: the folder alone."""


def models_config(options: ExperimentOptions) -> ModelsConfig:
    """The suite's models config with the `--set` and `--prompt` overrides applied; an unknown
    role, provider kind or prompt version is an InvalidInput naming it."""
    return with_overrides(load_models_config(options.suite.models), options.roles, options.prompts)


def with_overrides(
    config: ModelsConfig, roles_set: Mapping[str, str], prompts: Mapping[str, str]
) -> ModelsConfig:
    """`config` with roles answered by other providers (`--set`) and prompt versions pinned
    (`--prompt`); an unknown role or provider kind is an InvalidInput naming it."""
    roles = dict(config.roles)
    for role, spec in roles_set.items():
        if role not in roles:
            raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(sorted(roles))}")
        try:
            parse_spec(spec)
        except ConfigError as exc:
            raise InvalidInput(f"--set {role}={spec}: {exc}") from None
        roles[role] = roles[role].model_copy(update={"providers": [spec]})
    return config.model_copy(update={"roles": roles, "prompts": {**config.prompts, **prompts}})


def check_prompts(models: Models, prompts: Mapping[str, str]) -> None:
    for name, version in prompts.items():
        try:
            versions = models.prompts.versions(name)
        except ConfigError as exc:
            raise InvalidInput(f"--prompt {name}={version}: {exc}") from None
        if version not in versions:
            raise InvalidInput(
                f"--prompt {name}={version}: prompt {name!r} has no version {version!r}; "
                f"versions: {', '.join(versions)}"
            )


def _function(target: str, what: str) -> Any:
    module_name, sep, attr = target.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr, None) if sep else None
    except ImportError as exc:
        raise InvalidInput(f"{what}: cannot import {module_name!r}: {exc}") from None
    if not callable(found):
        raise InvalidInput(f"{what}: {target!r} is not module:function naming a function")
    return found


def _status(run: Run, suite: Suite) -> Status:
    if run.status == "success":
        return "success"
    if run.status == "interrupted":
        pending = (run.output or {}).get("__interrupt__")
        # A stop the suite asked for (`interrupt_after`) carries no interrupt value.
        return "success" if suite.interrupt_after and not pending else "interrupted"
    return "timeout" if run.status == "timeout" else "error"


async def _run_case(
    runtime: Runtime, suite: Suite, case: Case, repeat: int, folder: Path, experiment: str
) -> CaseResult:
    graph_input = suite.graph_input(case, folder)
    mark = {"eval_experiment": experiment, "eval_case": case.id, "eval_repeat": repeat}
    thread = await runtime.threads.create(ThreadRequest(metadata=mark))
    request = RunRequest(
        suite.graph,
        RunOptions(
            input=graph_input,
            config=suite.run_config or None,
            interrupt_after=suite.interrupt_after,
        ),
    )
    started = time.perf_counter()
    run = await runtime.runs.create_and_wait(thread.thread_id, request)
    latency_ms = (time.perf_counter() - started) * 1000
    decisions = await runtime.runs.decisions(run.run_id, thread_id=run.thread_id)
    answered = [d for d in decisions if d.error is None and d.provider != "human:review"]
    output = {k: v for k, v in (run.output or {}).items() if k not in ("__error__",)}
    return CaseResult(
        id=case.id,
        repeat=repeat,
        tags=list(case.tags),
        inputs=case.inputs,
        expected=case.expected,
        output=output,
        status=_status(run, suite),
        error=run.error,
        latency_ms=round(latency_ms, 2),
        model_calls=len([d for d in decisions if d.provider != "human:review"]),
        input_tokens=sum(d.input_tokens for d in decisions),
        output_tokens=sum(d.output_tokens for d in decisions),
        cost_usd=sum(d.cost_usd for d in decisions),
        tool_calls=[
            {"name": call.get("name"), "args": call.get("args")}
            for d in answered
            if isinstance(d.output, dict)
            for call in d.output.get("tool_calls") or []
        ],
        run_id=run.run_id,
        thread_id=run.thread_id,
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summarize(cases: list[CaseResult], scorers: list[Scorer]) -> dict[str, Any]:
    """Score every case (in place) and return the experiment's metrics and details."""
    for case in cases:
        case.scores = {}
        for scorer in scorers:
            case.scores.update(scorer.score(case))
    metrics: dict[str, float] = {}
    details: dict[str, Any] = {}
    for scorer in scorers:
        found, more = scorer.summarize(cases)
        metrics.update(found)
        details.update(more)
    by_tag: dict[str, dict[str, float]] = {}
    for tag in sorted({t for c in cases for t in c.tags}):
        # Per-case scores averaged over the tag's cases: the results sliced by tag.
        tagged = [c for c in cases if tag in c.tags]
        averaged = means(tagged, sorted({k for c in tagged for k in c.scores}))
        by_tag[tag] = {"cases": len(tagged), **{k: round(v, 6) for k, v in averaged.items()}}
    if by_tag:
        details["by_tag"] = by_tag
    latencies = [c.latency_ms for c in cases]
    metrics.update(
        {
            "latency_ms.mean": statistics.fmean(latencies),
            "latency_ms.p50": _percentile(latencies, 0.5),
            "latency_ms.p95": _percentile(latencies, 0.95),
            "model_calls": float(sum(c.model_calls for c in cases)),
            "tokens": float(sum(c.input_tokens + c.output_tokens for c in cases)),
            "cost_usd": sum(c.cost_usd for c in cases),
        }
    )
    return {
        "cases": len(cases),
        "metrics": {k: round(v, 6) for k, v in metrics.items()},
        "details": details,
        "statuses": {
            s: sum(c.status == s for c in cases) for s in sorted({c.status for c in cases})
        },
    }


def progress_bar(done: int, total: int) -> None:
    """A one-line progress bar on stderr, redrawn in place (only on a terminal)."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done == total else ""
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
        end=end,
        file=sys.stderr,
        flush=True,
    )


async def run_experiment(
    options: ExperimentOptions, settings: Settings, progress: Progress | None = progress_bar
) -> Experiment:
    """Run the suite, write its results folder and return the experiment."""
    suite = options.suite
    if options.concurrency < 1 or options.repeat < 1:
        raise InvalidInput("--concurrency and --repeat must be at least 1")
    scorers = [build_scorer(spec) for spec in suite.scorers]  # bad scorers fail before any run
    dataset = read_dataset(suite.dataset)
    cases = list(dataset.cases[: options.limit] if options.limit else dataset.cases)
    registry = GraphRegistry.load(suite.config)
    if suite.graph not in registry.ids():
        raise InvalidInput(
            f"suite {suite.name}: unknown graph {suite.graph!r}; graphs of {suite.config}: "
            f"{', '.join(registry.ids())}"
        )
    config = models_config(options)
    started_at = datetime.now(UTC)
    experiment = f"{suite.name}-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    folder = (options.results / experiment).resolve()
    folder.mkdir(parents=True)
    database_url = options.database_url or f"sqlite:///{folder / 'runs.db'}"
    run_settings = settings.model_copy(
        update={
            "database_url": database_url,
            "workers": options.concurrency,
            "poll_seconds": 0.05,
            "config": suite.config,
        }
    )
    replay_dir = options.replay_dir or suite.replay
    assert replay_dir is not None  # Suite.load always sets one
    cache = ReplayCache(replay_dir.resolve(), options.replay)
    storage = create_storage(database_url, pool_size=max(2, options.concurrency + 1))
    models = Models(config, run_settings, storage, replay=cache)
    check_prompts(models, options.prompts)
    for name, target in suite.rules.items():
        models.register_rule(name, _function(target, f"suite {suite.name}: rule {name!r}"))
    runtime = Runtime(run_settings, storage, registry, deps=Deps(models=models))
    meta: dict[str, Any] = {
        "experiment": experiment,
        "suite": suite.name,
        "suite_file": str(suite.source),
        "graph": suite.graph,
        "dataset": str(suite.dataset),
        "roles": {name: role.providers for name, role in config.roles.items()},
        "prompts": dict(config.prompts),
        "overrides": {"set": dict(options.roles), "prompt": dict(options.prompts)},
        "concurrency": options.concurrency,
        "repeat": options.repeat,
        "limit": options.limit,
        "backend": run_settings.backend,
        "started_at": started_at.isoformat(timespec="seconds"),
    }
    jobs = [(case, r) for r in range(options.repeat) for case in cases]
    results: list[CaseResult] = []
    gate = asyncio.Semaphore(options.concurrency)
    recorder = Recorder(options.record_url, experiment, suite.name) if options.record_url else None

    async def one(case: Case, repeat: int) -> None:
        async with gate:
            result = await _run_case(runtime, suite, case, repeat, dataset.folder, experiment)
        results.append(result)
        if recorder is not None:
            await recorder.case(result)
        if progress is not None:
            progress(len(results), len(jobs))

    if recorder is not None:
        await recorder.start(meta)  # an unreachable database fails before any case runs
    try:
        clock = time.perf_counter()
        await runtime.start()
        try:
            await asyncio.gather(*(one(case, r) for case, r in jobs))
        finally:
            await runtime.stop()
        wall = time.perf_counter() - clock
        order = {(case.id, r): i for i, (case, r) in enumerate(jobs)}
        results.sort(key=lambda c: order[(c.id, c.repeat)])
        summary = summarize(results, scorers)
        meta["replay"] = {
            "folder": str(cache.folder),
            "mode": options.replay,
            "hits": cache.hits,
            "misses": cache.misses,
        }
        meta["wall_seconds"] = round(wall, 3)
        (folder / "experiment.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        with (folder / "cases.jsonl").open("w", encoding="utf-8") as out:
            for result in results:
                out.write(json.dumps(result.to_json(), default=str, sort_keys=True) + "\n")
        if recorder is not None:
            await recorder.finish(meta, summary, results)
    finally:
        if recorder is not None:
            await recorder.close()
    return Experiment(folder, meta, summary, results)
