"""`python -m bench`: measure agent-ops (SQLite, PostgreSQL) and `langgraph dev` with the sdk.

Each target is a server started here on a free loopback port, driven by `langgraph-sdk`, plus the
in-process floor on the same backend; the table shows both and their ratio. `--memory` runs the
memory benchmark instead: the server's RSS before and after it holds 10,000 interrupted threads.
`python -m bench invoice` runs the shipped `invoice_approval` workflow against a seeded Tryton,
to paid and to its review pause (agent-ops on SQLite and PostgreSQL only).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import devenv, erp, floor, invoice, memory, report, servers, workload
from bench.invoice import InvoicePlan
from bench.memory import MemoryPlan
from bench.workload import Plan

BENCHMARKS = ("latency", "invoice")
TARGETS = ("sqlite", "postgres", "langgraph-dev")
# `langgraph dev` keeps threads in memory by design and takes minutes per 1,000 interrupts.
MEMORY_TARGETS = ("sqlite", "postgres")
# `langgraph dev` cannot load the workflow's connectors (they come with agent-ops).
INVOICE_TARGETS = ("sqlite", "postgres")
LOGS = report.RESULTS.parent / "logs"


@dataclass(frozen=True)
class Setup:
    """A server to start (on the bench graphs), its database, and the checkpointer arguments
    of its in-process floor."""

    server: Callable[[], AbstractContextManager[servers.Server]]
    floor: dict[str, Any]
    database_url: str | None = None
    versions: dict[str, str] = field(default_factory=dict)


Target = Callable[[Path], AbstractContextManager[Setup]]
Phases = Callable[[str, Setup, dict[str, Any]], None]


@contextmanager
def _sqlite_target(scratch: Path) -> Iterator[Setup]:
    database_url = f"sqlite:///{scratch / 'server.db'}"
    server = partial(servers.agent_ops, database_url, LOGS / "sqlite.log")
    yield Setup(server, {"backend": "sqlite", "sqlite_path": scratch / "floor.db"}, database_url)


def _postgres_target(processes: int) -> Target:
    """agent-ops on PostgreSQL as `agent-ops serve --processes N` (see `--processes`)."""

    @contextmanager
    def target(scratch: Path) -> Iterator[Setup]:
        # tests/ is not installed; the throw-away cluster is shared with the test suite.
        sys.path.insert(0, str(servers.REPO_ROOT))
        from tests.pgcluster import PgCluster

        cluster = PgCluster()
        try:
            cluster.start()
            server_url = cluster.create_database("bench_server")
            floor_url = cluster.create_database("bench_floor")
            server = partial(
                servers.agent_ops,
                server_url,
                LOGS / "postgres.log",
                env={"AGENT_OPS_PROCESSES": str(processes)},
            )
            yield Setup(server, {"backend": "postgres", "postgres_url": floor_url}, server_url)
        finally:
            cluster.stop()

    return target


def _dev_target(jobs_per_worker: int | None) -> Target:
    @contextmanager
    def target(scratch: Path) -> Iterator[Setup]:
        executable = devenv.langgraph_executable(LOGS / "pip-langgraph.log")
        server = partial(
            servers.langgraph_dev, executable, LOGS / "langgraph-dev.log", jobs_per_worker
        )
        yield Setup(server, {"backend": "memory"}, versions=devenv.installed_versions())

    return target


def _measure(name: str, target: Target, phases: Phases) -> dict[str, Any]:
    """Set up one target and run `phases` on it; a failure becomes the result's reason."""
    result: dict[str, Any] = {"status": "ok"}
    started = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp,
            target(Path(tmp)) as setup,
        ):
            if setup.versions:
                result["versions"] = setup.versions
            print(f"[{name}] starting server ...", file=sys.stderr, flush=True)
            phases(name, setup, result)
    except Exception as exc:  # one target failing must not hide the others' numbers
        traceback.print_exc()
        result["status"] = "failed"
        result["reason"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


@contextmanager
def _serving(
    name: str, started: AbstractContextManager[servers.Server], result: dict[str, Any], what: str
) -> Iterator[servers.Server]:
    """Start a server for `what`, noting its URL in `result`."""
    with started as server:
        print(f"[{name}] {server.url}: {what} ...", file=sys.stderr, flush=True)
        result["url"] = server.url
        yield server


def _latency(plan: Plan) -> Phases:
    """The server through the sdk, then the in-process floor, and their ratios."""

    def phases(name: str, setup: Setup, result: dict[str, Any]) -> None:
        with _serving(name, setup.server(), result, "client phases") as server:
            result["server"] = asyncio.run(workload.run_all(server.url, plan))
        print(f"[{name}] in-process floor ...", file=sys.stderr, flush=True)
        result["floor"] = asyncio.run(_floor(plan, setup.floor))
        result["ratios"] = report.ratios(result["server"], result["floor"])

    return phases


def _memory(plan: MemoryPlan) -> Phases:
    """The server's RSS around `plan.threads` threads left interrupted."""

    def phases(name: str, setup: Setup, result: dict[str, Any]) -> None:
        with _serving(name, setup.server(), result, "memory phases") as server:
            result["memory"] = asyncio.run(
                memory.measure(server.url, server.pid, setup.database_url, plan)
            )

    return phases


def _invoice(plan: InvoicePlan, bench_erp: erp.BenchERP) -> Phases:
    """invoice_approval through the server and in process, turn about, each on its own copy
    of the ERP."""

    def phases(name: str, setup: Setup, result: dict[str, Any]) -> None:
        assert setup.database_url is not None, "the invoice targets are agent-ops ones"
        with erp.serving(bench_erp) as server_erp, erp.serving(bench_erp) as floor_erp:
            started = servers.agent_ops(
                setup.database_url,
                LOGS / f"invoice-{name}.log",
                config=servers.SHIPPED_CONFIG,
                env={"AGENT_OPS_CONNECTORS_CONFIG": str(server_erp.connectors)},
            )
            with _serving(name, started, result, "invoices, server and floor in turn") as server:
                result |= asyncio.run(
                    _invoices(server.url, plan, bench_erp, server_erp, floor_erp, setup.floor)
                )

    return phases


async def _floor(plan: Plan, args: dict[str, Any]) -> dict[str, Any]:
    async with floor.checkpointer(pool=plan.concurrency, **args) as saver:
        return await floor.run_all(saver, plan)


async def _invoices(
    url: str,
    plan: InvoicePlan,
    bench_erp: erp.BenchERP,
    server_erp: erp.ServedERP,
    floor_erp: erp.ServedERP,
    floor_args: dict[str, Any],
) -> dict[str, Any]:
    async with floor.checkpointer(pool=1, **floor_args) as saver:
        return await invoice.measure(
            url, saver, plan, bench_erp, server_erp.settings, floor_erp.settings
        )


def _prepare_erp(plan: InvoicePlan, seed: Path | None, directory: Path) -> erp.BenchERP:
    what = f"copying {seed}" if seed else "seeding it (about a minute)"
    print(
        f"bench Tryton in {directory}: {what}, adding orders for {plan.runs} clean invoices ...",
        file=sys.stderr,
        flush=True,
    )
    return erp.prepare(directory, plan.runs, base=seed)


def _versions() -> dict[str, str]:
    found = {}
    for dist in ("agent-ops", "langgraph", "langgraph-sdk", "langchain-core"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "benchmark",
        nargs="?",
        choices=BENCHMARKS,
        default="latency",
        help="what to measure (default: latency, the bench graphs)",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated targets out of {', '.join(TARGETS)} (default: all; with "
        f"--memory: {', '.join(MEMORY_TARGETS)}; invoice: {', '.join(INVOICE_TARGETS)})",
    )
    parser.add_argument("--quick", action="store_true", help="few iterations, for a smoke run")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="run the memory benchmark (server RSS around many interrupted threads) instead",
    )
    parser.add_argument(
        "--threads", type=int, help="interrupted threads of the memory benchmark (default 10000)"
    )
    parser.add_argument("--duration", type=float, help="seconds of the throughput phase")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--iterations",
        type=int,
        help="sequential runs.wait calls per phase (invoice: timed invoices per path, default 30)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        help="untimed calls before each phase (default 20, --quick 3; invoice: 3, --quick 1)",
    )
    parser.add_argument(
        "--tryton-seed",
        type=Path,
        help="invoice: a demo Tryton built by `python -m tools.tryton_demo build DIR` to copy, "
        "instead of building one (about a minute)",
    )
    parser.add_argument(
        "--dev-jobs-per-worker",
        type=int,
        help="passed to `langgraph dev --n-jobs-per-worker` (default: its own default)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="`agent-ops serve --processes` on PostgreSQL (default: one per core, as a "
        "production deployment runs it; SQLite always serves from one process)",
    )
    parser.add_argument("--output", type=Path, default=report.RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f"--processes must be at least 1, not {args.processes}")
    invoices = args.benchmark == "invoice"
    if invoices and args.memory:
        parser.error("--memory is a benchmark of its own; leave out `invoice` or --memory")
    allowed = INVOICE_TARGETS if invoices else TARGETS
    if args.only is None:
        args.only = ",".join(MEMORY_TARGETS if args.memory else allowed)
    unknown = set(args.only.split(",")) - set(allowed)
    if unknown:
        parser.error(
            f"unknown target(s) {', '.join(sorted(unknown))}; the {args.benchmark} benchmark "
            f"runs on {', '.join(allowed)}"
        )
    if args.iterations is not None and args.iterations < 1:
        parser.error(f"--iterations must be at least 1, not {args.iterations}")
    if args.warmup is not None and args.warmup < 0:
        parser.error(f"--warmup must be 0 or more, not {args.warmup}")
    if args.tryton_seed is not None and not (args.tryton_seed / "demo.json").is_file():
        parser.error(f"--tryton-seed {args.tryton_seed} holds no built demo Tryton (demo.json)")
    return args


def _plan(args: argparse.Namespace) -> Plan:
    iterations = args.iterations or (20 if args.quick else 200)
    return Plan(
        warmup=_given(args.warmup, 3 if args.quick else 20),
        iterations=iterations,
        stream_iterations=max(1, iterations // 2),
        concurrency=args.concurrency,
        duration=args.duration or (3.0 if args.quick else 10.0),
    )


def _invoice_plan(args: argparse.Namespace) -> InvoicePlan:
    return InvoicePlan(
        warmup=_given(args.warmup, 1 if args.quick else 3),
        iterations=args.iterations or (5 if args.quick else 30),
    )


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def _memory_plan(args: argparse.Namespace) -> MemoryPlan:
    return MemoryPlan(
        warmup=50 if args.quick else 200,
        threads=args.threads or (500 if args.quick else 10_000),
        concurrency=args.concurrency,
        settle_seconds=1.0 if args.quick else 3.0,
        idle_seconds=2.0 if args.quick else 10.0,
        resume=20 if args.quick else 100,
    )


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the selected targets one after the other, print the table, write the JSON."""
    args = _parse(argv)
    targets: dict[str, Target] = {
        "sqlite": _sqlite_target,
        "postgres": _postgres_target(args.processes),
        "langgraph-dev": _dev_target(args.dev_jobs_per_worker),
    }
    chosen = [name for name in TARGETS if name in args.only.split(",")]
    plan: Plan | MemoryPlan | InvoicePlan
    # The latency results are the file's top level; the other benchmarks have a section each.
    section: str | None
    with ExitStack() as stack:
        if args.benchmark == "invoice":
            plan = _invoice_plan(args)
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-erp-")))
            phases = _invoice(plan, _prepare_erp(plan, args.tryton_seed, scratch))
            rows, section = report.INVOICE_ROWS, "invoice"
        elif args.memory:
            plan = _memory_plan(args)
            phases, rows, section = _memory(plan), report.MEMORY_ROWS, "memory"
        else:
            plan = _plan(args)
            phases, rows, section = _latency(plan), report.ROWS, None
        results = {name: _measure(name, targets[name], phases) for name in chosen}
    document: dict[str, Any] = {
        "meta": {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(["python -m bench", *(argv or sys.argv[1:])]),
            "plan": plan.__dict__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "postgres_processes": args.processes,
            "versions": _versions(),
        },
        "targets": results,
    }
    if section is not None:
        document = {section: document}
    path = report.write(document, args.output)
    print(report.table(results, rows))
    if "postgres" in chosen:
        print(
            f"\nagent-ops on PostgreSQL served from {args.processes} process(es)"
            f" (`agent-ops serve --processes {args.processes}`, one per core unless --processes"
            " says otherwise: what a production deployment runs); on SQLite from one."
        )
    print(f"\nresults: {path}   server logs: {LOGS}")
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
