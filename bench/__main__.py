"""`python -m bench`: measure agent-ops (SQLite, PostgreSQL) and `langgraph dev` with the sdk.

Each target is a server started here on a free loopback port, driven by `langgraph-sdk`, plus the
in-process floor on the same backend; the table shows both and their ratio. `--memory` runs the
memory benchmark instead: the server's RSS before and after it holds 10,000 interrupted threads.
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
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import devenv, floor, memory, report, servers, workload
from bench.memory import MemoryPlan
from bench.workload import Plan

TARGETS = ("sqlite", "postgres", "langgraph-dev")
# `langgraph dev` keeps threads in memory by design and takes minutes per 1,000 interrupts.
MEMORY_TARGETS = ("sqlite", "postgres")
LOGS = report.RESULTS.parent / "logs"


@dataclass(frozen=True)
class Setup:
    """A server to start, its database, and the checkpointer arguments of its in-process floor."""

    server: AbstractContextManager[servers.Server]
    floor: dict[str, Any]
    database_url: str | None = None
    versions: dict[str, str] = field(default_factory=dict)


Target = Callable[[Path], AbstractContextManager[Setup]]
Phases = Callable[[str, Setup, dict[str, Any]], None]


@contextmanager
def _sqlite_target(scratch: Path) -> Iterator[Setup]:
    database_url = f"sqlite:///{scratch / 'server.db'}"
    server = servers.agent_ops(database_url, LOGS / "sqlite.log")
    yield Setup(server, {"backend": "sqlite", "sqlite_path": scratch / "floor.db"}, database_url)


@contextmanager
def _postgres_target(scratch: Path) -> Iterator[Setup]:
    # tests/ is not installed; the throw-away cluster is shared with the test suite.
    sys.path.insert(0, str(servers.REPO_ROOT))
    from tests.pgcluster import PgCluster

    cluster = PgCluster()
    try:
        cluster.start()
        server_url = cluster.create_database("bench_server")
        floor_url = cluster.create_database("bench_floor")
        server = servers.agent_ops(server_url, LOGS / "postgres.log")
        yield Setup(server, {"backend": "postgres", "postgres_url": floor_url}, server_url)
    finally:
        cluster.stop()


def _dev_target(jobs_per_worker: int | None) -> Target:
    @contextmanager
    def target(scratch: Path) -> Iterator[Setup]:
        executable = devenv.langgraph_executable(LOGS / "pip-langgraph.log")
        server = servers.langgraph_dev(executable, LOGS / "langgraph-dev.log", jobs_per_worker)
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
    name: str, setup: Setup, result: dict[str, Any], what: str
) -> Iterator[servers.Server]:
    """Start the target's server for `what`, noting its URL in `result`."""
    with setup.server as server:
        print(f"[{name}] {server.url}: {what} ...", file=sys.stderr, flush=True)
        result["url"] = server.url
        yield server


def _latency(plan: Plan) -> Phases:
    """The server through the sdk, then the in-process floor, and their ratios."""

    def phases(name: str, setup: Setup, result: dict[str, Any]) -> None:
        with _serving(name, setup, result, "client phases") as server:
            result["server"] = asyncio.run(workload.run_all(server.url, plan))
        print(f"[{name}] in-process floor ...", file=sys.stderr, flush=True)
        result["floor"] = asyncio.run(_floor(plan, setup.floor))
        result["ratios"] = report.ratios(result["server"], result["floor"])

    return phases


def _memory(plan: MemoryPlan) -> Phases:
    """The server's RSS around `plan.threads` threads left interrupted."""

    def phases(name: str, setup: Setup, result: dict[str, Any]) -> None:
        with _serving(name, setup, result, "memory phases") as server:
            result["memory"] = asyncio.run(
                memory.measure(server.url, server.pid, setup.database_url, plan)
            )

    return phases


async def _floor(plan: Plan, args: dict[str, Any]) -> dict[str, Any]:
    async with floor.checkpointer(pool=plan.concurrency, **args) as saver:
        return await floor.run_all(saver, plan)


def _versions() -> dict[str, str]:
    found = {}
    for dist in ("agent-ops", "langgraph", "langgraph-sdk", "langchain-core"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        help=f"comma-separated targets out of {', '.join(TARGETS)} "
        f"(default: all; with --memory: {', '.join(MEMORY_TARGETS)})",
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
    parser.add_argument("--iterations", type=int, help="sequential runs.wait calls per phase")
    parser.add_argument(
        "--dev-jobs-per-worker",
        type=int,
        help="passed to `langgraph dev --n-jobs-per-worker` (default: its own default)",
    )
    parser.add_argument("--output", type=Path, default=report.RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.only is None:
        args.only = ",".join(MEMORY_TARGETS if args.memory else TARGETS)
    unknown = set(args.only.split(",")) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}; choose from {TARGETS}")
    return args


def _plan(args: argparse.Namespace) -> Plan:
    iterations = args.iterations or (20 if args.quick else 200)
    return Plan(
        warmup=3 if args.quick else 20,
        iterations=iterations,
        stream_iterations=max(1, iterations // 2),
        concurrency=args.concurrency,
        duration=args.duration or (3.0 if args.quick else 10.0),
    )


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
    plan: Plan | MemoryPlan = _memory_plan(args) if args.memory else _plan(args)
    phases = _memory(plan) if isinstance(plan, MemoryPlan) else _latency(plan)
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    targets: dict[str, Target] = {
        "sqlite": _sqlite_target,
        "postgres": _postgres_target,
        "langgraph-dev": _dev_target(args.dev_jobs_per_worker),
    }
    chosen = [name for name in TARGETS if name in args.only.split(",")]
    results = {name: _measure(name, targets[name], phases) for name in chosen}
    document: dict[str, Any] = {
        "meta": {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(["python -m bench", *(argv or sys.argv[1:])]),
            "plan": plan.__dict__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "versions": _versions(),
        },
        "targets": results,
    }
    if args.memory:  # its own section, so the latency results in the same file stay
        document = {"memory": document}
    path = report.write(document, args.output)
    print(report.table(results, report.MEMORY_ROWS if args.memory else report.ROWS))
    print(f"\nresults: {path}   server logs: {LOGS}")
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
