"""Chaos: SIGKILL agent-ops processes at random points across 100 invoice runs on PostgreSQL.

Two `serve` processes share one database; a killer picks one every 1-3 s (seeded), kills it with
SIGKILL and starts a replacement on the same database, until every run is terminal or the kill
budget is spent. Then it checks the effects where they land: Tryton holds one posted invoice and
one payment per invoice, and the SMTP capture got one outcome mail per invoice. PostgreSQL only:
it is the backend several processes share in production.

The capture records every delivery as the SMTP server saw it. Mail is at least once by a
documented rule (tools/mail: an outbox entry is written before the SMTP conversation, so a
sender killed between the server's accept and its record sends again): each vendor must get
exactly one message (one Message-ID, at least one delivery), and a repeated delivery is allowed
only as the same message and only where the run's state records the mail as `resent`, never
silently.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import itertools
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from aiosmtpd.controller import Controller
from langgraph_sdk import get_client

from bench.erp import GOODS, REFERENCE, BenchERP, prepare, serving
from tests.pgcluster import PgCluster
from tests.servers import AgentOpsProcess
from tools.mail.devserver import free_port
from tools.tryton import TrytonClient

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
]

ROOT_CONFIG = Path(__file__).resolve().parents[2] / "langgraph.json"
INVOICES = 100
SEED = int(os.environ.get("AGENT_OPS_CHAOS_SEED", "20261206"))
KILL_BUDGET_SECONDS = 60.0  # stop killing after this (twice this while under MIN_KILLS kills)
MIN_KILLS = 10
FINISH_SECONDS = 150.0  # after the last kill, for the survivors to finish every run
FAST_LEASES = {
    "AGENT_OPS_LEASE_SECONDS": "2",
    "AGENT_OPS_HEARTBEAT_SECONDS": "0.5",
    "AGENT_OPS_POLL_SECONDS": "0.2",
    # A run held by a process that is killed counts an attempt; at this kill rate some runs are
    # hit more often than the default 3 allows (they would end in "gave up", as documented).
    "AGENT_OPS_MAX_ATTEMPTS": "50",
}
TERMINAL = {"success", "error", "timeout", "interrupted"}


def _vendor(index: int) -> str:
    return f"billing+{index}@northwind.example"


@dataclass
class Capture:
    """What the SMTP server received: one entry per delivery (recipients, Message-ID)."""

    deliveries: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.deliveries.append((tuple(envelope.rcpt_tos), str(message["Message-ID"])))
        return "250 OK"


@pytest.fixture(scope="module")
def chaos_erp(tryton_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> BenchERP:
    """The demo with one open order line per invoice, built once (a copy of the seeded demo)."""
    return prepare(tmp_path_factory.mktemp("chaos-erp"), INVOICES, base=tryton_demo_dir)


@pytest.fixture
def capture() -> Iterator[tuple[Capture, int]]:
    handler = Capture()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


class Fleet:
    """The two live processes; a killed one is replaced by a new process on the same database."""

    def __init__(self, database_url: str, folder: Path, connectors: Path) -> None:
        self.database_url = database_url
        self.folder = folder
        self.env = {"AGENT_OPS_CONNECTORS_CONFIG": str(connectors), **FAST_LEASES}
        self.numbers = itertools.count(1)  # next() is atomic: starts overlap in threads
        self.live: list[AgentOpsProcess] = []
        self.all: list[AgentOpsProcess] = []

    def start(self) -> AgentOpsProcess:
        number = next(self.numbers)
        proc = AgentOpsProcess(
            self.database_url,
            self.folder,
            config=ROOT_CONFIG,
            env=self.env,
            name=f"serve-{number}",
        ).start(timeout=120)
        self.live.append(proc)
        self.all.append(proc)
        return proc

    def start_together(self, count: int) -> None:
        """Start `count` processes at once (each start is mostly waiting for imports)."""
        starting = [threading.Thread(target=self.start) for _ in range(count)]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join(130)
        assert len(self.live) == count, f"{len(self.live)} of {count} processes started"

    def url(self) -> str:
        url = self.live[-1].url
        assert url is not None
        return url

    def stop(self) -> None:
        for proc in self.all:
            proc.stop()


def _runs(conn: psycopg.Connection[Any]) -> list[tuple[str, str, int, str | None]]:
    rows = conn.execute("SELECT run_id, status, attempt, worker_id FROM runs").fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _last(values: dict[str, Any]) -> tuple[str, str, str] | None:
    """The last decision of a run's state (step, outcome, reason): why it ended where it did."""
    decisions = values.get("decisions") or []
    return tuple(decisions[-1][k] for k in ("step", "outcome", "reason")) if decisions else None


def _spread(values: Iterator[float | None]) -> str:
    seen = sorted(v for v in values if v is not None)
    if not seen:
        return "n/a"
    return f"min {seen[0]:.2f} / median {seen[len(seen) // 2]:.2f} / max {seen[-1]:.2f}"


def _pid_of(worker_id: str | None) -> int | None:
    parts = (worker_id or "").split(":")
    return int(parts[2]) if len(parts) == 5 else None


def _dated(invoice: dict[str, Any], index: int) -> dict[str, Any]:
    """The invoice dated a day earlier per four: the lines cycle through four products, so two
    invoices of the same date and total would be held as near duplicates of each other."""
    day = dt.date.today() - dt.timedelta(days=index // len(GOODS))
    return {**invoice, "issue_date": day.isoformat()}


async def _submit(url: str, erp: BenchERP) -> list[tuple[str, str]]:
    client = get_client(url=url)
    runs = []
    for index, line in enumerate(erp.clean):
        thread = await client.threads.create(metadata={"invoice": index})
        run = await client.runs.create(
            thread["thread_id"],
            "invoice_approval",
            input={
                "invoice": _dated(line.invoice(f"CHAOS-{index:03d}"), index),
                "sender": _vendor(index),
            },
        )
        runs.append((thread["thread_id"], run["run_id"]))
    return runs


async def _outcomes(url: str, runs: list[tuple[str, str]]) -> list[tuple[dict[str, Any], Any]]:
    client = get_client(url=url)
    found: list[tuple[dict[str, Any], Any]] = []
    for thread_id, run_id in runs:
        run = await client.runs.get(thread_id, run_id)
        state = await client.threads.get_state(thread_id)
        found.append((dict(run), state["values"]))
    return found


async def _erp_counts(settings: Any, numbers: list[str]) -> list[tuple[list[str], int]]:
    """Per invoice number: the states of the invoices carrying it and the count of their
    payments; one client, a few numbers asked at once."""
    gate = asyncio.Semaphore(4)
    async with TrytonClient(settings) as client:

        async def count(number: str) -> tuple[list[str], int]:
            async with gate:
                invoices = await client.search(
                    "account.invoice", [("reference", "=", number)], ("state",)
                )
                origins = [f"account.invoice,{row['id']}" for row in invoices]
                payments = await client.search(
                    "account.payment", [("line.move_origin", "in", origins)], ("id",)
                )
            return [row["state"] for row in invoices], len(payments)

        return list(await asyncio.gather(*(count(number) for number in numbers)))


def test_sigkill_chaos_across_100_invoice_runs_pays_and_mails_each_invoice_once(
    pg_cluster: PgCluster,
    chaos_erp: BenchERP,
    capture: tuple[Capture, int],
    tmp_path: Path,
) -> None:
    handler, smtp_port = capture
    database_url = pg_cluster.create_database(f"chaos_{SEED}_{int(time.time())}")
    rng = random.Random(SEED)
    began = time.monotonic()
    timings: dict[str, float] = {}
    with serving(chaos_erp) as erp:
        connectors = tmp_path / "connectors.yaml"
        config = yaml.safe_load(erp.connectors.read_text())
        config["mail"] = {
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "tls": "none",
                "sender": "AP Robot <ap@buyer.example>",
                "timeout_seconds": 5.0,
            }
        }
        connectors.write_text(yaml.safe_dump(config))
        fleet = Fleet(database_url, tmp_path, connectors)
        try:
            fleet.start_together(2)
            timings["start"] = round(time.monotonic() - began, 1)
            runs = asyncio.run(_submit(fleet.url(), chaos_erp))
            timings["submitted"] = round(time.monotonic() - began, 1)
            kills = _chaos(fleet, database_url, rng)
            timings["kills_over"] = round(time.monotonic() - began, 1)
            with psycopg.connect(database_url) as conn:
                deadline = time.monotonic() + FINISH_SECONDS
                while time.monotonic() < deadline:
                    if all(status in TERMINAL for _, status, _, _ in _runs(conn)):
                        break
                    time.sleep(0.5)
                final = _runs(conn)
            timings["terminal"] = round(time.monotonic() - began, 1)
            wall = time.monotonic() - began
            outcomes = asyncio.run(_outcomes(fleet.url(), runs))
            numbers = [f"{REFERENCE}CHAOS-{i:03d}" for i in range(INVOICES)]
            counts = asyncio.run(_erp_counts(erp.settings, numbers))
        finally:
            fleet.stop()

    retried = sum(1 for _, _, attempt, _ in final if attempt > 1)
    most = max(attempt for _, _, attempt, _ in final)
    per_rcpt = Counter(rcpt for rcpts, _ in handler.deliveries for rcpt in rcpts)
    message_ids = Counter(mid for _, mid in handler.deliveries)
    held = [k for k in kills if k.held]
    print(
        f"\nchaos (seed {SEED}): {INVOICES} runs, {len(kills)} kills ({len(held)} holding runs), "
        f"{retried} runs re-attempted (at most {most} attempts), wall {wall:.1f} s, "
        f"timings {timings}; after a kill, leases free in {_spread(k.claimable for k in held)} s, "
        f"runs running again in {_spread(k.running for k in held)} s; "
        f"{len(handler.deliveries)} mails delivered, {len(message_ids)} distinct Message-IDs"
    )

    # Every property is checked and every breach listed, so one failure shows them all.
    problems = []
    stuck = [(run_id, status) for run_id, status, _, _ in final if status not in TERMINAL]
    if stuck:
        problems.append(f"runs not finished: {stuck}")
    failed = [
        (index, run["status"], run.get("error"), values.get("status"), _last(values))
        for index, (run, values) in enumerate(outcomes)
        if run["status"] != "success" or values.get("status") != "paid"
    ]
    if failed:
        problems.append(f"runs that did not end paid: {failed}")
    booked = [
        (f"CHAOS-{index:03d}", states, payments)
        for index, (states, payments) in enumerate(counts)
        if (states, payments) != (["posted"], 1)
    ]
    if booked:
        problems.append(f"invoices not posted once and paid once: {booked}")
    ids_of: dict[str, set[str]] = {}
    for rcpts, mid in handler.deliveries:
        for rcpt in rcpts:
            ids_of.setdefault(rcpt, set()).add(mid)
    odd = {
        _vendor(i): sorted(ids_of.get(_vendor(i), ()))
        for i in range(INVOICES)
        if len(ids_of.get(_vendor(i), ())) != 1
    }
    if odd or len(message_ids) != INVOICES:
        problems.append(f"vendors not sent exactly one message (their Message-IDs): {odd}")
    resent = {
        _vendor(index)
        for index, (_, values) in enumerate(outcomes)
        if any(note.get("resent") for note in values.get("notifications") or [])
    }
    silent = {rcpt: n for rcpt, n in per_rcpt.items() if n > 1 and rcpt not in resent}
    if silent:
        problems.append(f"mails delivered twice without a resend recorded: {silent}")
    print(
        f"invoices posted once and paid once: "
        f"{sum(1 for c in counts if c == (['posted'], 1))}/{INVOICES}; "
        f"invoices with more than one payment: {sum(1 for _, n in counts if n > 1)}; "
        f"runs not ending paid: {len(failed)}; mails resent after a crash: {len(resent)}"
    )
    assert not problems, "\n".join(problems)
    assert len(kills) >= MIN_KILLS


@dataclass
class Kill:
    """One kill: when, the runs its process held, and when they were free and running again."""

    at: float
    pid: int
    held: set[str]
    claimable: float | None = None  # every held lease expired (or the run taken or finished)
    running: float | None = None  # every held run taken by a live process (or finished)


def _chaos(fleet: Fleet, database_url: str, rng: random.Random) -> list[Kill]:
    """Kill a random live process every 1-3 s and start a replacement, until every run is terminal
    (and at least MIN_KILLS were made) or the budget is spent; meanwhile note, for each kill whose
    process held runs, when its leases were free and when live processes ran those runs again."""
    kills: list[Kill] = []
    starting: list[threading.Thread] = []
    deadline = time.monotonic() + KILL_BUDGET_SECONDS
    next_kill = time.monotonic() + rng.uniform(1.0, 3.0)
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT run_id, status, worker_id, lease_expires_at <= now() FROM runs"
            ).fetchall()
            now = time.monotonic()
            for kill in kills:
                mine = [r for r in rows if r[0] in kill.held and r[1] == "running"]
                mine = [r for r in mine if _pid_of(r[2]) == kill.pid]
                if kill.claimable is None and all(r[3] for r in mine):
                    kill.claimable = now - kill.at
                if kill.running is None and not mine:
                    kill.running = now - kill.at
            done = all(r[1] in TERMINAL for r in rows) and len(kills) >= MIN_KILLS
            # On a loaded machine a replacement takes 15 s or more to start, and fewer kills fit
            # the budget: it stretches (once over) while runs still go and kills are too few.
            over = now > deadline and (
                len(kills) >= MIN_KILLS or now > deadline + KILL_BUDGET_SECONDS
            )
            if done or over:
                break
            if now < next_kill or not fleet.live:
                time.sleep(0.05)
                continue
            victim = fleet.live.pop(rng.randrange(len(fleet.live)))
            assert victim.proc is not None
            pid = victim.proc.pid
            victim.kill()
            killed_at = time.monotonic()
            held = {r[0] for r in _runs(conn) if r[1] == "running" and _pid_of(r[3]) == pid}
            kills.append(Kill(killed_at, pid, held))
            # The replacement, on the same machine and database, starts while the killing goes on.
            starting.append(threading.Thread(target=fleet.start, daemon=True))
            starting[-1].start()
            next_kill = time.monotonic() + rng.uniform(1.0, 3.0)
    for thread in starting:
        thread.join(120)
    return kills
