"""Shadow mode: past production runs of a graph run again with a candidate configuration (models,
prompt versions), beside production and without its side effects, then each shadow decision set
against what production finally did, after any human decision.

A shadow run is a dry run (`configurable.dry_run: true`: the connectors read the business
systems but refuse every write and send no mail, see graphs/invoice/_env.py) on its own
runtime and database in the report's folder, stopped before the graph's first step that would
have to write (for `invoice_approval`: `book`). Its decision is the state it reached there.

The production side is read as `eval dataset from-runs` reads it: each chain of runs on a thread,
its first run's input (with that run's config) and its last run's final values.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_ops.deps import Deps
from agent_ops.errors import InvalidInput
from agent_ops.models import Models, load_models_config
from agent_ops.runtime import GraphRegistry, RunOptions, RunRequest, Runtime, ThreadRequest
from agent_ops.settings import Settings
from agent_ops.storage import Run, Storage, create_storage
from evals.harness.dataset import Case
from evals.harness.experiment import check_prompts, with_overrides
from evals.harness.from_runs import RunsQuery, cases_from_runs
from evals.harness.scorers import normalize

__all__ = ["PAYS", "STOP_BEFORE", "ShadowOptions", "run_shadow", "shadow_table"]

PAYS = frozenset({"approved", "booked", "posted", "paid"})
"""Statuses after which the invoice workflow pays (the decision shadow and production compare)."""

STOP_BEFORE: dict[str, tuple[str, ...]] = {"invoice_approval": ("book",)}
"""Per graph, the steps a shadow run stops before: the first that must write to go on."""

# Keys of a stored run's configurable that belong to that run, not to its configuration.
_RUN_KEYS = ("thread_id", "run_id", "checkpoint_id", "checkpoint_ns", "assistant_id", "graph_id")


@dataclass(frozen=True)
class ShadowOptions:
    assistant: str
    """A graph id (all its assistants) or an assistant id, as `eval dataset from-runs` takes."""
    production_url: str
    """The production server's database, read only."""
    results: Path = Path("eval-results")
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    roles: Mapping[str, str] = field(default_factory=dict)
    prompts: Mapping[str, str] = field(default_factory=dict)
    stop_before: tuple[str, ...] | None = None
    """Default: `STOP_BEFORE` of the graph."""
    compare: str = "invoice"
    """The output key whose fields are compared with production's final values."""


@dataclass(frozen=True)
class _Production:
    case: Case
    config: dict[str, Any]
    human: bool
    seconds: float
    """From the input run's creation to the chain's last update (a person's wait included)."""


async def _chain_seconds(storage: Storage, first: Run) -> float:
    """Seconds from `first` to the last run that continued it (before the next input run)."""
    runs = sorted(await storage.list_runs(first.thread_id, limit=1000), key=lambda r: r.created_at)
    last = first
    for run in runs:
        if run.created_at <= first.created_at or run.run_id == first.run_id:
            continue
        if (run.kwargs or {}).get("input") is not None:
            break
        last = run
    return (last.updated_at - first.created_at).total_seconds()


async def _production(storage: Storage, options: ShadowOptions) -> tuple[str, list[_Production]]:
    found = await cases_from_runs(
        storage,
        RunsQuery(options.assistant, since=options.since, until=options.until, status=None),
    )
    if found.graph_id is None or not found.cases:
        raise InvalidInput(f"no past runs of {options.assistant!r} to shadow ({found.summary()})")
    cases = found.cases[: options.limit] if options.limit else found.cases
    chosen = []
    for case in cases:
        run = await storage.get_run(case.id)
        assistant = await storage.get_assistant(run.assistant_id)
        configurable = {
            **((assistant.config or {}).get("configurable") or {}),
            **(((run.kwargs or {}).get("config") or {}).get("configurable") or {}),
        }
        configurable = {
            k: v for k, v in configurable.items() if k not in _RUN_KEYS and not k.startswith("__")
        }
        seconds = await _chain_seconds(storage, run)
        chosen.append(_Production(case, configurable, "human:decided" in case.tags, seconds))
    return found.graph_id, chosen


def _fields(production: Any, shadow: Any) -> dict[str, Any]:
    if not isinstance(production, dict):
        return {"compared": 0, "agreeing": 0, "differ": []}
    got = shadow if isinstance(shadow, dict) else {}
    names = sorted(k for k, v in production.items() if v is not None)
    differ = [n for n in names if normalize(got.get(n)) != normalize(production.get(n))]
    return {"compared": len(names), "agreeing": len(names) - len(differ), "differ": differ}


def _compare(
    production: _Production, run_status: str, output: Any, seconds: float, key: str
) -> dict[str, Any]:
    final = production.case.expected
    values = output if isinstance(output, dict) else {}
    shadow_status = values.get("status") if run_status in ("success", "interrupted") else None
    # The ERP has moved on since production ran: an invoice production booked is there now,
    # and the shadow finds it booked already (a duplicate of production's own booking). Its
    # decision then says nothing about the candidate: not compared, and said per run; the
    # fields it read still are.
    booked = (final.get("erp") or {}).get("invoice_number")
    seen_booked = bool(
        shadow_status == "duplicate"
        and booked
        and (values.get("match") or {}).get("duplicate_of") == booked
    )
    production_pays = final.get("status") in PAYS
    shadow_pays = None if shadow_status is None or seen_booked else shadow_status in PAYS
    return {
        "production_run": production.case.id,
        "production": {
            "status": final.get("status"),
            "pays": production_pays,
            "human": production.human,
            "seconds": round(production.seconds, 3),
        },
        "shadow": {
            "run_status": run_status,
            "status": shadow_status,
            "pays": shadow_pays,
            "reason": next(
                (d.get("reason") for d in reversed(values.get("decisions") or [])), None
            ),
            "seconds": round(seconds, 3),
            "seen_production_booking": seen_booked,
            "notifications": values.get("notifications") or [],
        },
        "agree": None if shadow_pays is None else shadow_pays == production_pays,
        "fields": _fields(final.get(key), values.get(key)),
    }


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    decided = [r for r in rows if r["agree"] is not None]
    compared = [r["fields"] for r in rows if r["fields"]["compared"]]
    return {
        "runs": len(rows),
        "agreement": _rate([r["agree"] for r in decided]),
        "field_agreement": _rate([f["agreeing"] / f["compared"] == 1 for f in compared]),
        "fields_agreeing": round(
            sum(f["agreeing"] for f in compared) / max(1, sum(f["compared"] for f in compared)), 6
        ),
        "shadow_pays_production_did_not": sum(
            1 for r in decided if r["shadow"]["pays"] and not r["production"]["pays"]
        ),
        "production_pays_shadow_did_not": sum(
            1 for r in decided if r["production"]["pays"] and not r["shadow"]["pays"]
        ),
        "shadow_exception_rate": _rate([r["shadow"]["status"] == "needs_review" for r in rows]),
        "shadow_error_rate": _rate([r["shadow"]["status"] is None for r in rows]),
        "production_human_touch_rate": _rate([r["production"]["human"] for r in rows]),
        "shadow_seconds_mean": round(statistics.fmean(r["shadow"]["seconds"] for r in rows), 3),
        "production_seconds_mean": round(
            statistics.fmean(r["production"]["seconds"] for r in rows), 3
        ),
        "not_comparable": sum(r["shadow"]["seen_production_booking"] for r in rows),
    }


async def run_shadow(
    options: ShadowOptions,
    settings: Settings,
    *,
    connectors: object | None = None,
    config: Path | None = None,
) -> dict[str, Any]:
    """Shadow the chosen past runs; write `shadow.json` in a new folder under `options.results`
    and return the report. `connectors`: production's, read only in the dry run (default: the
    settings' connectors config); `config`: the langgraph.json (default: the settings')."""
    production_storage = create_storage(options.production_url, pool_size=2)
    await production_storage.open()
    try:
        graph, chosen = await _production(production_storage, options)
    finally:
        await production_storage.close()
    registry = GraphRegistry.load(config or settings.config)
    if graph not in registry.ids():
        raise InvalidInput(
            f"graph {graph!r} of the past runs is not in {config or settings.config}"
        )
    stop_before = list(options.stop_before or STOP_BEFORE.get(graph, ()))
    models_config = with_overrides(
        load_models_config(settings.models_config), options.roles, options.prompts
    )
    started_at = datetime.now(UTC)
    name = f"shadow-{graph}-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    folder = (options.results / name).resolve()
    folder.mkdir(parents=True)
    database_url = f"sqlite:///{folder / 'runs.db'}"
    run_settings = settings.model_copy(
        update={"database_url": database_url, "workers": 1, "poll_seconds": 0.05}
    )
    if connectors is None and settings.connectors_config is not None:
        from tools.config import Connectors

        connectors = Connectors.load(settings.connectors_config.resolve())
    storage = create_storage(database_url, pool_size=2)
    models = Models(models_config, run_settings, storage)
    check_prompts(models, options.prompts)
    runtime = Runtime(
        run_settings,
        storage,
        registry,
        deps=Deps(models=models, connectors=connectors, public_url=settings.url),
    )
    rows = []
    await runtime.start()
    try:
        for production in chosen:
            mark = {"shadow_of": production.case.id, "shadow": name}
            thread = await runtime.threads.create(ThreadRequest(metadata=mark))
            request = RunRequest(
                graph,
                RunOptions(
                    input=production.case.inputs,
                    config={"configurable": {**production.config, "dry_run": True}},
                    interrupt_before=stop_before or None,
                ),
            )
            clock = time.perf_counter()
            run = await runtime.runs.create_and_wait(thread.thread_id, request)
            rows.append(
                _compare(
                    production,
                    run.status,
                    run.output,
                    time.perf_counter() - clock,
                    options.compare,
                )
                | {"shadow_run": run.run_id, "error": run.error}
            )
    finally:
        await runtime.stop()
    report = {
        "shadow": name,
        "graph": graph,
        "assistant": options.assistant,
        "stop_before": stop_before,
        "roles": {role: spec.providers for role, spec in models_config.roles.items()},
        "prompts": dict(models_config.prompts),
        "started_at": started_at.isoformat(timespec="seconds"),
        "summary": _summary(rows),
        "runs": rows,
        "folder": str(folder),
    }
    (folder / "shadow.json").write_text(
        json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return report


def shadow_table(report: dict[str, Any]) -> str:
    """The agreement report for a terminal: the summary, then one line per run."""
    lines = [f"{report['shadow']}: {report['summary']['runs']} past runs of {report['graph']}"]
    lines += [f"  {k}: {'-' if v is None else v}" for k, v in report["summary"].items()]
    for row in report["runs"]:
        fields = row["fields"]
        mark = {True: "agree", False: "DIFFER", None: "no decision"}[row["agree"]]
        lines.append(
            f"  {row['production_run']}: production {row['production']['status']}, shadow "
            f"{row['shadow']['status']} ({mark}); fields {fields['agreeing']}/{fields['compared']}"
            + (f" differ: {', '.join(fields['differ'])}" if fields["differ"] else "")
        )
    return "\n".join(lines)
