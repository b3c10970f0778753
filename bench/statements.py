"""`python -m bench.statements`: count the SQL statements one `threads.create` + `runs.wait`
costs agent-ops on PostgreSQL, by phase.

A throw-away PostgreSQL cluster logs every statement (`log_statement=all`) while the bench's
`echo` graph runs `--runs` times on fresh threads through the official sdk, after a few untimed
warm-up runs. Statements are grouped into the transaction (or autocommit statement) they belong
to, per backend process, and each group is named by what it touches. Counts depend on the code,
not on the machine's load, so this is the number to compare before and after a change.

Before the statements are logged, `--cpu-runs` more runs measure the CPU time one run costs the
server process and PostgreSQL's backends (from /proc, so Linux only): it moves far less than
wall time when other work shares the machine (compare A/B runs made in the same conditions).
`--sqlite` measures only that CPU figure, for the server on SQLite (its database work is in the
server process; there is no statement log to read).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from langgraph_sdk import get_client

from bench import servers
from bench.workload import ECHO_INPUT

# A log entry starts with the time and the backend's pid; continuation lines start with a tab.
_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[(\d+)\] (\w+):  (.*)$")
_STATEMENT = re.compile(r"^(?:statement|execute [^:]*): (.*)$", re.S)

# The phases, in the order a run meets them: the first whose pattern matches a group names it.
PHASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("thread create", re.compile(r"INSERT INTO threads \(thread_id, tenant_id, owner, metadata\)")),
    ("run create", re.compile(r"INSERT INTO runs|runs_created|agent_ops_queue_run_")),
    ("claim", re.compile(r"status = 'running', worker_id")),
    ("finish", re.compile(r"finished_at = now\(\)|agent_ops_finish_run_")),
    ("events", re.compile(r"run_events")),
    ("assistant read", re.compile(r"FROM assistants")),
    ("checkpoints (LangGraph saver)", re.compile(r"checkpoint")),
    ("audit row alone", re.compile(r"audit")),
    ("background (crons, workers, outbox)", re.compile(r"crons|workers|outbox|intake|triggers")),
    ("wake-up alone (NOTIFY)", re.compile(r"pg_notify")),
)


@dataclass
class Group:
    """One transaction (BEGIN..COMMIT) or one autocommit statement of one backend."""

    statements: list[str] = field(default_factory=list)

    @property
    def phase(self) -> str:
        text = "\n".join(self.statements)
        for name, pattern in PHASES:
            if pattern.search(text):
                return name
        return "other"

    @property
    def audit(self) -> int:
        return sum("audit" in s for s in self.statements)


def statements(log: str) -> Iterator[tuple[str, str]]:
    """Yield (pid, statement) for every statement the log holds, continuation lines joined."""
    pid, kind, text = "", "", ""
    for line in log.splitlines():
        match = _ENTRY.match(line)
        if match is None:
            text += "\n" + line.strip()
            continue
        if kind == "LOG" and (found := _STATEMENT.match(text)):
            yield pid, found.group(1).strip()
        pid, kind, text = match.groups()
    if kind == "LOG" and (found := _STATEMENT.match(text)):
        yield pid, found.group(1).strip()


def groups(log: str) -> list[Group]:
    """Group each backend's statements into its transactions and autocommit statements."""
    open_: dict[str, Group] = {}
    done: list[Group] = []
    for pid, sql in statements(log):
        word = sql.split(None, 1)[0].upper() if sql else ""
        if word == "BEGIN":
            open_[pid] = Group([sql])
        elif pid in open_:
            open_[pid].statements.append(sql)
            if word in ("COMMIT", "ROLLBACK"):
                done.append(open_.pop(pid))
        else:
            done.append(Group([sql]))
    return done


async def _runs(url: str, count: int) -> None:
    client = get_client(url=url)
    for _ in range(count):
        thread = await client.threads.create()
        await client.runs.wait(thread["thread_id"], "echo", input=ECHO_INPUT)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cluster_cpu_seconds(data: Path) -> float:
    """CPU time so far of a PostgreSQL server: its postmaster and the backends it forked."""
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if postmaster in (parent, int(entry.name)):
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError):  # a backend that ended meanwhile
            continue
    return total


@dataclass
class Cpu:
    """Milliseconds of CPU per threads.create + runs.wait, and of wall time, over `runs` runs."""

    runs: int
    server: float
    postgres: float
    wall: float


def _cpu(url: str, server_pid: int, data: Path, runs: int) -> Cpu:
    before = (cpu_seconds(server_pid), _cluster_cpu_seconds(data), time.perf_counter())
    asyncio.run(_runs(url, runs))
    after = (cpu_seconds(server_pid), _cluster_cpu_seconds(data), time.perf_counter())
    server, postgres, wall = (1000 * (b - a) / runs for a, b in zip(before, after, strict=True))
    return Cpu(runs, server, postgres, wall)


def measure(
    runs: int, keep: Path | None = None, cpu_runs: int = 200
) -> tuple[Counter[str], Counter[str], int, Cpu]:
    """Return statements by phase, audit statements by phase, and the number of groups,
    each summed over `runs` runs, and the CPU one run costs (over `cpu_runs` runs)."""
    from tests.pgcluster import PgCluster  # the test suite's throw-away cluster

    cluster = PgCluster()
    cluster.start()
    try:
        url = cluster.create_database("statements")
        log = cluster.root / "server.log"
        with (
            tempfile.TemporaryDirectory() as tmp,
            servers.agent_ops(url, Path(tmp) / "serve.log") as server,
        ):
            asyncio.run(_runs(server.url, 10))  # warm-up: migrations, pools, prepared statements
            cpu = _cpu(server.url, server.pid, cluster.root / "data", cpu_runs)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ALTER SYSTEM SET log_statement = 'all'")
                conn.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] '")
                conn.execute("SELECT pg_reload_conf()")
            time.sleep(1.0)
            start = log.stat().st_size
            asyncio.run(_runs(server.url, runs))
            time.sleep(1.0)  # let the last finish and its notifications reach the log
            text = log.read_bytes()[start:].decode(errors="replace")
    finally:
        cluster.stop()
    if keep is not None:
        keep.write_text(text)
    found = groups(text)
    by_phase: Counter[str] = Counter()
    audit: Counter[str] = Counter()
    for group in found:
        by_phase[group.phase] += len(group.statements)
        audit[group.phase] += group.audit
    return by_phase, audit, len(found), cpu


def measure_sqlite(cpu_runs: int) -> Cpu:
    """Return the CPU one run costs the server on a fresh SQLite database (over `cpu_runs`)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'server.db'}"
        with servers.agent_ops(url, Path(tmp) / "serve.log") as server:
            asyncio.run(_runs(server.url, 10))  # warm-up: migrations, imports, caches
            before = (cpu_seconds(server.pid), time.perf_counter())
            asyncio.run(_runs(server.url, cpu_runs))
            after = (cpu_seconds(server.pid), time.perf_counter())
    server_ms, wall = (1000 * (b - a) / cpu_runs for a, b in zip(before, after, strict=True))
    return Cpu(cpu_runs, server_ms, 0.0, wall)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="runs to count (default 10)")
    parser.add_argument("--keep", type=Path, help="write the statement log here")
    parser.add_argument(
        "--cpu-runs", type=int, default=200, help="runs to measure CPU time on (default 200)"
    )
    parser.add_argument(
        "--sqlite", action="store_true", help="measure only the CPU per run, on SQLite"
    )
    args = parser.parse_args(argv)
    if args.sqlite:
        cpu = measure_sqlite(args.cpu_runs)
        print(
            f"CPU per run on SQLite ({cpu.runs} runs): server process {cpu.server:.2f} ms;"
            f" wall {cpu.wall:.2f} ms"
        )
        return
    by_phase, audit, count, cpu = measure(args.runs, args.keep, args.cpu_runs)
    print(f"SQL statements per threads.create + runs.wait on PostgreSQL ({args.runs} runs):")
    print(f"  {'phase':<38} {'statements':>10} {'of which audit':>15}")
    background = "background (crons, workers, outbox)"
    for name, _ in (*PHASES, ("other", None)):
        if by_phase[name]:
            line = f"  {name:<38} {by_phase[name] / args.runs:>10.1f}"
            print(line + f" {audit[name] / args.runs:>15.1f}")
    per_run = sum(n for name, n in by_phase.items() if name != background) / args.runs
    print(f"  {'total (without background)':<38} {per_run:>10.1f}")
    print(f"  transactions and autocommit statements: {count / args.runs:.1f} per run")
    print(
        f"CPU per run ({cpu.runs} runs, statements not logged): server process"
        f" {cpu.server:.2f} ms, PostgreSQL {cpu.postgres:.2f} ms; wall {cpu.wall:.2f} ms"
    )


if __name__ == "__main__":
    main()
