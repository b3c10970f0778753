"""Shadow mode on past production runs of the invoice workflow (both backends): production ran
against the module's real Tryton and the real local mail server (one invoice paid, one rejected
by a reviewer, one still waiting for one); the shadow re-runs them in dry run with the same
connectors, and its agreement report says per run what production and the shadow decided.
Tryton holds no new or changed invoice or payment afterwards, and no mailbox got a message."""

from __future__ import annotations

import asyncio
import imaplib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from agent_ops.cli import main
from agent_ops.deps import Deps
from agent_ops.runtime import GraphRegistry, RunOptions, RunRequest, Runtime
from agent_ops.settings import Settings
from agent_ops.storage import create_storage
from evals.harness.shadow import ShadowOptions, run_shadow
from graphs.invoice import Connections
from tests.invoice.samples import invoice
from tests.tryton_fixtures import RunningTryton
from tools.mail.devserver import MailDevServer
from tools.tryton import TrytonClient

ROOT_CONFIG = Path(__file__).resolve().parents[2] / "langgraph.json"
AP = "ap@buyer.example"
NORTHWIND = "billing@northwind.example"
BLUE_HARBOR = "accounts@blueharbor.example"
REVIEWED = {"configurable": {"invoice_policy": {"reviewers": [AP]}}}


@pytest.fixture(scope="module")
def mail() -> Iterator[MailDevServer]:
    with MailDevServer() as server:
        yield server


@pytest.fixture
def connections(tryton: RunningTryton, mail: MailDevServer) -> Connections:
    """Production's systems: the module's Tryton and real SMTP."""
    return Connections(
        tryton=tryton.settings(), smtp=mail.smtp_settings("AP Robot <invoices@buyer.example>")
    )


@dataclass(frozen=True)
class Production:
    """Production as the shadow finds it: its runtime, its database, its connectors and the
    systems behind them."""

    runtime: Runtime
    database_url: str
    connections: Connections
    tryton: RunningTryton
    mail: MailDevServer

    @property
    def backend(self) -> str:
        return self.database_url.split(":")[0]


@pytest.fixture
async def production(
    database_url: str, connections: Connections, tryton: RunningTryton, mail: MailDevServer
) -> AsyncIterator[Production]:
    settings = Settings(database_url=database_url, workers=2, poll_seconds=0.05, config=ROOT_CONFIG)
    runtime = Runtime(
        settings,
        create_storage(database_url),
        GraphRegistry.load(ROOT_CONFIG),
        deps=Deps(connectors=connections, public_url=settings.url),
    )
    await runtime.start()
    yield Production(runtime, database_url, connections, tryton, mail)
    await runtime.stop()


async def _run(runtime: Runtime, thread_id: str, options: RunOptions) -> dict[str, Any]:
    run = await runtime.runs.create_and_wait(thread_id, RunRequest("invoice_approval", options))
    assert run.error is None, run.error
    return dict(run.output or {})


async def _history(runtime: Runtime, backend: str) -> dict[str, str]:
    """Three production invoices; each backend bills other quantities (one Tryton per module)."""
    qty = 100 if backend == "sqlite" else 80
    runs = {}
    paid = (await runtime.threads.create()).thread_id
    clean = invoice(f"NWM-SH-{backend}", "PO-00001", [("BOLT-M8", "Steel bolt M8x40", qty, "0.25")])
    done = await _run(runtime, paid, RunOptions(input={"invoice": clean, "sender": NORTHWIND}))
    assert done["status"] == "paid", done.get("decisions")
    runs["paid"] = paid
    rejected = (await runtime.threads.create()).thread_id
    dear = invoice(f"BHP-SH-{backend}", "PO-00002", [("BOX-60", "Shipping carton", qty, "1.15")])
    first = RunOptions(input={"invoice": dear, "sender": BLUE_HARBOR}, config=REVIEWED)
    assert (await _run(runtime, rejected, first))["status"] == "needs_review"
    answer = {"type": "response", "args": "not the ordered price", "by": "alice"}
    done = await _run(runtime, rejected, RunOptions(command={"resume": answer}))
    assert done["status"] == "rejected", done.get("decisions")
    runs["rejected"] = rejected
    waiting = (await runtime.threads.create()).thread_id
    later = invoice(f"BHP-SW-{backend}", "PO-00002", [("BOX-60", "Shipping carton", 10, "1.25")])
    pending = RunOptions(input={"invoice": later, "sender": BLUE_HARBOR}, config=REVIEWED)
    assert (await _run(runtime, waiting, pending))["status"] == "needs_review"
    runs["waiting"] = waiting
    return runs


async def _erp_records(tryton: RunningTryton) -> dict[str, list[dict[str, Any]]]:
    async with TrytonClient(tryton.settings()) as client:
        return {
            "invoices": await client.search(
                "account.invoice", [], ("state", "total_amount", "reference")
            ),
            "payments": await client.search("account.payment", [], ("state", "amount")),
            "moves": await client.search("account.move", [], ("state",)),
        }


def _mailbox_sizes(server: MailDevServer, *users: str) -> dict[str, int]:
    sizes = {}
    for user in users:
        with imaplib.IMAP4(server.host, server.imap_port) as box:
            box.login(user, server.password)
            box.select("INBOX")
            _, data = box.search(None, "ALL")
            sizes[user] = len(data[0].split())
    return sizes


def _production_was(row: dict[str, Any], status: str, *, pays: bool, human: bool) -> None:
    """Production's side of a report row: its outcome, and the time it took (some)."""
    assert row["production"] | {"seconds": 0} == {
        "status": status,
        "pays": pays,
        "human": human,
        "seconds": 0,
    }
    assert row["production"]["seconds"] > 0


async def test_shadow_reports_agreement_per_past_run_and_nothing_reaches_tryton_or_mail(
    production: Production,
    tmp_path: Path,
) -> None:
    backend = production.backend
    threads = await _history(production.runtime, backend)
    erp_before = await _erp_records(production.tryton)
    mail_before = _mailbox_sizes(production.mail, AP, NORTHWIND, BLUE_HARBOR)
    # Production did reach both: the paid invoice, the review requests and outcome mails.
    assert any(i["reference"] == f"NWM-SH-{backend}" for i in erp_before["invoices"])
    assert mail_before[AP] >= 2 and mail_before[NORTHWIND] >= 1 and mail_before[BLUE_HARBOR] >= 1

    report = await run_shadow(
        ShadowOptions(
            assistant="invoice_approval", production_url=production.database_url, results=tmp_path
        ),
        Settings(config=ROOT_CONFIG),
        connectors=production.connections,
    )

    # Nothing reached Tryton (no new or changed invoice, payment or move) or any mailbox.
    assert await _erp_records(production.tryton) == erp_before
    assert _mailbox_sizes(production.mail, AP, NORTHWIND, BLUE_HARBOR) == mail_before

    assert report["stop_before"] == ["book"]
    assert report["folder"].endswith(report["shadow"])
    rows = {row["production_run"]: row for row in report["runs"]}
    by_thread = {}
    for name, thread in threads.items():
        [first, *_] = sorted(
            await production.runtime.storage.list_runs(thread, limit=10), key=lambda r: r.created_at
        )
        by_thread[name] = rows[first.run_id]
    assert len(rows) == 3

    paid = by_thread["paid"]
    _production_was(paid, "paid", pays=True, human=False)
    # The ERP holds production's booking of this invoice now: the shadow finds it booked and
    # says so; its decision is not counted, the fields it read are.
    assert paid["shadow"]["status"] == "duplicate"
    assert paid["shadow"]["seen_production_booking"] is True
    assert paid["agree"] is None and paid["shadow"]["pays"] is None
    assert paid["fields"]["differ"] == [] and paid["fields"]["compared"] >= 8

    rejected = by_thread["rejected"]
    _production_was(rejected, "rejected", pays=False, human=True)
    assert rejected["shadow"]["status"] == "needs_review"
    assert rejected["shadow"]["run_status"] == "interrupted"  # the pause for a person
    assert rejected["agree"] is True
    # The shadow asked for a review as production did, and the mail was held back.
    [asked] = rejected["shadow"]["notifications"]
    assert asked["to"] == AP and asked["sent"] is False and asked["reason"] == "dry run: not sent"

    waiting = by_thread["waiting"]
    _production_was(waiting, "needs_review", pays=False, human=False)
    assert waiting["shadow"]["status"] == "needs_review" and waiting["agree"] is True

    summary = report["summary"]
    assert summary["runs"] == 3
    assert summary["agreement"] == 1.0  # over the two runs whose decision compares
    assert summary["not_comparable"] == 1
    assert summary["field_agreement"] == 1.0
    assert summary["shadow_exception_rate"] == round(2 / 3, 6)
    assert summary["production_human_touch_rate"] == round(1 / 3, 6)
    assert summary["shadow_error_rate"] == 0.0
    assert summary["shadow_pays_production_did_not"] == 0
    times = [r["production"]["seconds"] for r in report["runs"]]
    assert summary["production_seconds_mean"] == round(sum(times) / 3, 3)


async def test_a_dry_run_that_reaches_a_write_is_refused_at_the_erp_connector(
    production: Production,
    tmp_path: Path,
) -> None:
    """Not stopped before `book`: the approved invoice's booking is refused by the connector,
    the shadow run fails naming it, and Tryton is unchanged."""
    backend = production.backend
    thread = (await production.runtime.threads.create()).thread_id
    qty = 20 if backend == "sqlite" else 30
    clean = invoice(f"NWM-DRY-{backend}", "PO-00001", [("BOLT-M8", "Steel bolt", qty, "0.25")])
    # Production still waits at a stop before booking: the ERP has nothing of this invoice yet.
    stopped = RunOptions(input={"invoice": clean}, interrupt_before=["book"])
    assert (await _run(production.runtime, thread, stopped))["status"] == "approved"
    erp_before = await _erp_records(production.tryton)
    report = await run_shadow(
        ShadowOptions(
            assistant="invoice_approval",
            production_url=production.database_url,
            results=tmp_path,
            stop_before=("notify",),
        ),
        Settings(config=ROOT_CONFIG),
        connectors=production.connections,
    )
    [row] = report["runs"]
    assert row["shadow"]["run_status"] == "error" and row["agree"] is None
    assert "dry run: " in (row["error"] or ""), row["error"]
    assert "would write to the ERP; nothing was sent" in (row["error"] or "")
    assert await _erp_records(production.tryton) == erp_before


def test_shadow_of_an_assistant_without_runs_is_one_error_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"

    async def migrate() -> None:  # a server's database with no run of the assistant
        storage = create_storage(url)
        await storage.open()
        await storage.close()

    asyncio.run(migrate())
    capsys.readouterr()
    args = ["eval", "shadow", "--assistant", "invoice_approval", "--database-url", url]
    assert main([*args, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "agent-ops: error: no past runs of 'invoice_approval' to shadow "
        "(0 cases from past runs; skipped: none)"
    ]


def _secrets(settings: Any) -> dict[str, Any]:
    """Settings as a config file holds them (secrets in clear)."""
    values: dict[str, Any] = settings.model_dump(mode="json", exclude_none=True)
    for name, value in settings:
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    return values


async def test_the_shadow_command_reads_the_connectors_config_and_prints_the_report(
    production: Production,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`agent-ops eval shadow` as an operator runs it: the server's connectors config (Tryton and
    SMTP), the server's database; the report's path is the last line."""
    backend = production.backend
    thread = (await production.runtime.threads.create()).thread_id
    dear = invoice(f"BHP-CLI-{backend}", "PO-00002", [("BOX-60", "Shipping carton", 5, "1.30")])
    options = RunOptions(input={"invoice": dear, "sender": BLUE_HARBOR}, config=REVIEWED)
    assert (await _run(production.runtime, thread, options))["status"] == "needs_review"
    assert production.connections.smtp is not None
    config = tmp_path / "connectors.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "tryton": _secrets(production.connections.tryton),
                "mail": {"smtp": _secrets(production.connections.smtp)},
            }
        )
    )
    monkeypatch.setenv("AGENT_OPS_CONNECTORS_CONFIG", str(config))
    monkeypatch.setenv("AGENT_OPS_CONFIG", str(ROOT_CONFIG))
    erp_before = await _erp_records(production.tryton)
    mail_before = _mailbox_sizes(production.mail, AP, BLUE_HARBOR)
    url = production.database_url
    args = ["eval", "shadow", "--assistant", "invoice_approval", "--database-url", url]
    code = await asyncio.to_thread(main, [*args, "--results", str(tmp_path / "out")])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0, out
    assert out[-1].startswith("shadow report: ") and out[-1].endswith("shadow.json")
    written = Path(out[-1].removeprefix("shadow report: "))
    report = json.loads(await asyncio.to_thread(written.read_text))
    [row] = report["runs"]
    assert (row["production"]["status"], row["shadow"]["status"], row["agree"]) == (
        "needs_review",
        "needs_review",
        True,
    )
    assert [(n["to"], n["sent"]) for n in row["shadow"]["notifications"]] == [(AP, False)]
    compared = row["fields"]["compared"]
    assert row["fields"]["agreeing"] == compared > 0
    assert any(line.endswith(f"(agree); fields {compared}/{compared}") for line in out), out
    assert await _erp_records(production.tryton) == erp_before
    assert _mailbox_sizes(production.mail, AP, BLUE_HARBOR) == mail_before
