"""`agent-ops eval ...`: run a suite, compare two experiments, report one, shadow past production
runs with a candidate config, import a dataset or build one from past runs.

Registered by agent_ops/cli.py with `add_parser` and `run`. Bad input (an unknown suite, scorer,
role or prompt version, a malformed dataset line) is one error line and exit code 2; a failed
`compare` gate is exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_ops.errors import ConfigError, InvalidInput, NotFound
from agent_ops.models import REPLAY_MODES
from agent_ops.settings import Settings
from agent_ops.types import RUN_STATUSES

__all__ = ["add_parser", "run"]

RESULTS = Path("eval-results")


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for value in values or []:
        key, sep, right = value.partition("=")
        if not sep or not key or not right:
            raise InvalidInput(f"{flag} {value!r} is not NAME=VALUE")
        out[key] = right
    return out


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 date or time") from None
    # A time without a zone is read as UTC, the zone the server stores.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_parser(commands: Any) -> None:
    """Add `eval` and its subcommands to the `agent-ops` parser's subcommands."""
    evals = commands.add_parser("eval", help="offline evaluation: suites, experiments, reports")
    sub = evals.add_subparsers(dest="eval_command", required=True)
    run = sub.add_parser("run", help="run a suite; the last line names the experiment")
    run.add_argument("suite", help="a suite file, or the name of a shipped one (routing, invoice)")
    run.add_argument(
        "--set",
        action="append",
        metavar="ROLE=PROVIDER:MODEL",
        help="answer a role with this provider",
    )
    run.add_argument(
        "--prompt", action="append", metavar="NAME=VERSION", help="pin a prompt version"
    )
    run.add_argument("--concurrency", type=int, default=1, help="cases run at once (%(default)s)")
    run.add_argument("--repeat", type=int, default=1, help="runs of every case (%(default)s)")
    run.add_argument("--limit", type=int, help="only the first N cases")
    run.add_argument(
        "--replay",
        choices=REPLAY_MODES,
        default="record",
        help="record: answer from the cache, ask models on a miss (default); refresh: ask "
        "again and overwrite; replay: never ask a model (a miss is an error)",
    )
    run.add_argument("--replay-dir", type=Path, help="replay cache folder (default: the suite's)")
    run.add_argument(
        "--refresh", action="store_const", const="refresh", dest="replay", help="--replay refresh"
    )
    run.add_argument("--results", type=Path, default=RESULTS, help="results root (%(default)s)")
    run.add_argument(
        "--database-url",
        help="runs and checkpoints here (default: a SQLite file in the experiment)",
    )
    run.add_argument(
        "--no-record",
        action="store_true",
        help="write the results folder only, not the experiment into the agent-ops database",
    )
    listing = sub.add_parser("list", help="recent experiments recorded in the agent-ops database")
    listing.add_argument("--suite", help="only this suite's experiments")
    listing.add_argument("--limit", type=int, default=20, help="at most N (%(default)s)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of the table")
    compare = sub.add_parser("compare", help="metrics of B against A, and the cases that changed")
    compare.add_argument("a", help="baseline experiment (folder, or name under --results)")
    compare.add_argument("b", help="the experiment compared with it")
    compare.add_argument("--results", type=Path, default=RESULTS)
    compare.add_argument(
        "--fail-under",
        action="append",
        metavar="METRIC=VALUE",
        help="exit 1 if B is worse than VALUE",
    )
    compare.add_argument(
        "--max-regression",
        action="append",
        metavar="METRIC=DELTA",
        help="exit 1 if B lost more than DELTA",
    )
    compare.add_argument("--json", action="store_true", help="print JSON instead of the table")
    report = sub.add_parser("report", help="terminal table, HTML file and JSON of an experiment")
    report.add_argument("experiment", help="experiment folder, or name under --results")
    report.add_argument("--results", type=Path, default=RESULTS)
    report.add_argument(
        "--html", type=Path, help="where to write the HTML (default: report.html in it)"
    )
    report.add_argument(
        "--json", action="store_true", help="print the JSON report instead of the table"
    )
    shadow = sub.add_parser(
        "shadow",
        help="re-run past production runs with a candidate config in dry run; agreement report",
    )
    shadow.add_argument(
        "--assistant", required=True, help="a graph id (all its assistants) or an assistant id"
    )
    shadow.add_argument("--since", type=_instant, help="runs started at or after (ISO 8601)")
    shadow.add_argument("--until", type=_instant, help="runs started before (ISO 8601)")
    shadow.add_argument("--limit", type=int, help="only the first N past runs")
    shadow.add_argument("--set", action="append", metavar="ROLE=PROVIDER:MODEL")
    shadow.add_argument("--prompt", action="append", metavar="NAME=VERSION")
    shadow.add_argument(
        "--stop-before",
        action="append",
        help="stop before this step (default: the graph's first writing step, e.g. book)",
    )
    shadow.add_argument("--database-url", help="the server's database (default: the settings')")
    shadow.add_argument("--results", type=Path, default=RESULTS)
    shadow.add_argument("--json", action="store_true", help="print the JSON report")
    dataset = sub.add_parser("dataset", help="datasets").add_subparsers(
        dest="dataset_command", required=True
    )
    imp = dataset.add_parser("import", help="a CSV as a JSONL dataset")
    imp.add_argument("csv", type=Path)
    imp.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    imp.add_argument("--input", action="append", required=True, help="a column that is an input")
    imp.add_argument("--expected", action="append", default=[], help="a column that is expected")
    imp.add_argument("--tags", help="a column of ;-separated tags")
    imp.add_argument("--id", help="a column holding the case ids")
    runs = dataset.add_parser(
        "from-runs", help="past runs' inputs and their human-approved outcomes as a dataset"
    )
    runs.add_argument(
        "--assistant", required=True, help="a graph id (all its assistants) or an assistant id"
    )
    runs.add_argument("--since", type=_instant, help="runs started at or after (ISO 8601)")
    runs.add_argument("--until", type=_instant, help="runs started before (ISO 8601)")
    runs.add_argument(
        "--status",
        default="success",
        choices=[*RUN_STATUSES, "any"],
        help="the status the run ended in (%(default)s)",
    )
    runs.add_argument(
        "--expected-key",
        action="append",
        default=[],
        help="keep only this key of the final values as expected (repeatable; default: all)",
    )
    runs.add_argument("--database-url", help="the server's database (default: the settings')")
    runs.add_argument(
        "--out", type=Path, required=True, help="folder for dataset.jsonl and suite.yaml"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Execute an `agent-ops eval` command; return the exit code."""
    try:
        if args.eval_command == "run":
            return _run(args, settings)
        if args.eval_command == "compare":
            return _compare(args)
        if args.eval_command == "report":
            return _report(args)
        if args.eval_command == "list":
            return _list(args, settings)
        if args.eval_command == "shadow":
            return _shadow(args, settings)
        if args.dataset_command == "from-runs":
            return _from_runs(args, settings)
        return _import(args)
    except (InvalidInput, ConfigError, NotFound) as exc:
        print(f"agent-ops: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from evals.harness import ExperimentOptions, Suite, find_suite, run_experiment
    from evals.harness.report import table

    suite = Suite.load(find_suite(args.suite))
    options = ExperimentOptions(
        suite=suite,
        results=args.results,
        roles=_pairs(args.set, "--set"),
        prompts=_pairs(args.prompt, "--prompt"),
        concurrency=args.concurrency,
        repeat=args.repeat,
        limit=args.limit,
        replay=args.replay,
        replay_dir=args.replay_dir,
        database_url=args.database_url,
        # The experiment and its cases also go to the server's database, as they run.
        record_url=None if args.no_record else settings.database_url,
    )
    # One INFO line per run would bury the progress bar; warnings and errors still show.
    logging.getLogger("agent_ops.runtime").setLevel(max(logging.WARNING, logging.root.level))
    experiment = asyncio.run(run_experiment(options, settings))
    print(table(experiment))
    replay = experiment.meta["replay"]
    print(
        f"replay cache {replay['folder']}: {replay['hits']} answers replayed, {replay['misses']} asked"
    )
    print(f"experiment: {experiment.folder}", flush=True)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from evals.harness import load_experiment
    from evals.harness.compare import compare, parse_gates
    from evals.harness.report import comparison_table

    result = compare(
        load_experiment(args.a, args.results),
        load_experiment(args.b, args.results),
        fail_under=parse_gates(args.fail_under, "--fail-under"),
        max_regression=parse_gates(args.max_regression, "--max-regression"),
    )
    print(json.dumps(result.to_json(), indent=2) if args.json else comparison_table(result))
    for failure in result.failures:
        print(f"agent-ops: gate failed: {failure}", file=sys.stderr)
    return 1 if result.failures else 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from agent_ops.storage import create_storage
    from evals.harness.report import experiments_table

    if args.limit < 1:
        raise InvalidInput(f"--limit {args.limit}: must be at least 1")

    async def read() -> Any:
        storage = create_storage(settings.database_url, pool_size=2)
        await storage.open()
        try:
            return await storage.list_eval_experiments(suite=args.suite, limit=args.limit)
        finally:
            await storage.close()

    found = asyncio.run(read())
    if args.json:
        rows = [
            {
                "experiment": e.experiment_id,
                "suite": e.suite,
                "created_at": e.created_at.isoformat(timespec="seconds"),
                "finished": e.finished_at is not None,
                "cases": e.cases,
                "metrics": e.metrics,
            }
            for e in found
        ]
        print(json.dumps(rows))
    else:
        print(experiments_table(found))
    return 0


def _report(args: argparse.Namespace) -> int:
    from evals.harness import load_experiment
    from evals.harness.report import html_report, json_report, table

    experiment = load_experiment(args.experiment, args.results)
    target = args.html or experiment.folder / "report.html"
    target.write_text(html_report(experiment), encoding="utf-8")
    (experiment.folder / "report.json").write_text(
        json.dumps(json_report(experiment), indent=1, default=str), encoding="utf-8"
    )
    if args.json:
        print(json.dumps(json_report(experiment), default=str))
    else:
        print(table(experiment))
        print(f"html report: {target}")
    return 0


def _shadow(args: argparse.Namespace, settings: Settings) -> int:
    from evals.harness.shadow import ShadowOptions, run_shadow, shadow_table

    options = ShadowOptions(
        assistant=args.assistant,
        production_url=args.database_url or settings.database_url,
        results=args.results,
        since=args.since,
        until=args.until,
        limit=args.limit,
        roles=_pairs(args.set, "--set"),
        prompts=_pairs(args.prompt, "--prompt"),
        stop_before=tuple(args.stop_before) if args.stop_before else None,
    )
    report = asyncio.run(run_shadow(options, settings))
    print(json.dumps(report, default=str) if args.json else shadow_table(report))
    print(f"shadow report: {Path(report['folder']) / 'shadow.json'}", flush=True)
    return 0


def _import(args: argparse.Namespace) -> int:
    from evals.harness import import_csv, write_dataset

    cases = import_csv(
        args.csv, inputs=args.input, expected=args.expected, tags=args.tags, id_column=args.id
    )
    count = write_dataset(args.out, cases)
    print(f"{count} cases written to {args.out}")
    return 0


def _from_runs(args: argparse.Namespace, settings: Settings) -> int:
    from agent_ops.storage import create_storage
    from evals.harness import RunsQuery, cases_from_runs, write_runs_dataset

    query = RunsQuery(
        assistant=args.assistant,
        since=args.since,
        until=args.until,
        status=None if args.status == "any" else args.status,
        expected_keys=tuple(args.expected_key),
    )

    async def read() -> Any:
        storage = create_storage(args.database_url or settings.database_url, pool_size=2)
        await storage.open()
        try:
            return await cases_from_runs(storage, query)
        finally:
            await storage.close()

    found = asyncio.run(read())
    print(found.summary())
    dataset, suite = write_runs_dataset(found, args.out, config=settings.config)
    print(
        f"{len(found.cases)} cases written to {dataset}; run them with: agent-ops eval run {suite}"
    )
    return 0
