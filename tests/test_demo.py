"""The demo `make run` serves, as a new user meets it: one `agent-ops serve` with AGENT_OPS_DEMO.

Within a minute of start-up the four sample mails have run: the matching e-invoice (with VAT) is
paid and its sender told by mail, the over-priced one and the unknown PO wait for a person
(accounts payable is asked by mail), the copy is stopped as a duplicate; approving the
over-priced one pays it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from langgraph_sdk import get_sync_client

from tests.mailboxes import inbox_messages
from tests.servers import AgentOpsProcess
from tools.tryton_demo import ensure_demo, is_current, load_facts

ROOT_CONFIG = Path(__file__).resolve().parent.parent / "langgraph.json"


@pytest.fixture(scope="module")
def demo_server(
    tryton_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AgentOpsProcess, Path]]:
    folder = tmp_path_factory.mktemp("demo")
    # The demo seeds Tryton once into <demo_dir>/tryton-seed; hand it the session's seed instead
    # of spending another minute on the same database.
    shutil.copytree(tryton_demo_dir, folder / "tryton-seed")
    env = {"AGENT_OPS_DEMO": "true", "AGENT_OPS_DEMO_DIR": str(folder)}
    server = AgentOpsProcess("", folder, config=ROOT_CONFIG, env=env).start(timeout=120)
    yield server, folder
    server.stop()


@pytest.fixture(scope="module")
def demo(demo_server: tuple[AgentOpsProcess, Path]) -> tuple[str, Path]:
    server, folder = demo_server
    assert server.url is not None
    return server.url, folder


def test_the_quickstart_prints_the_console_url_and_it_opens_the_approvals_inbox(
    demo_server: tuple[AgentOpsProcess, Path],
) -> None:
    server, _ = demo_server
    assert server.proc is not None and server.proc.stdout is not None
    line = server.proc.stdout.readline()  # the line after "agent-ops listening on <url>"
    assert line.strip() == f"agent-ops console: {server.url}/console"
    page = httpx.get(line.split(": ", 1)[1].strip())
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Approvals" in page.text and "/console/static/inbox.js" in page.text


def _threads(url: str, expected: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    client = get_sync_client(url=url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        threads = client.threads.search(limit=20)
        settled = [t for t in threads if t["status"] in ("idle", "interrupted")]
        if len(settled) >= expected and len(settled) == len(threads):
            return threads
        time.sleep(0.5)
    raise AssertionError(f"the demo's runs did not settle: {client.threads.search(limit=20)}")


def _inbox(folder: Path, user: str) -> list[str]:
    imap = yaml.safe_load((folder / "connectors.yaml").read_text())["mail"]["imap"]
    messages = inbox_messages("127.0.0.1", imap["port"], user, imap["password"])
    return [str(message["Subject"]).strip() for message in messages]  # long subjects come folded


def test_the_demo_shows_the_whole_flow_within_a_minute(demo: tuple[str, Path]) -> None:
    url, folder = demo
    threads = _threads(url, expected=4)
    outcome = sorted(
        (t["values"]["invoice"]["invoice_number"], t["values"]["status"]) for t in threads
    )
    assert outcome == [
        ("BHP-88231", "needs_review"),
        ("KIS-0042-7", "needs_review"),
        ("NWM-2026-0412", "duplicate"),
        ("NWM-2026-0412", "paid"),
    ]
    (paid,) = [t["values"] for t in threads if t["values"]["status"] == "paid"]
    assert (paid["invoice"]["tax"], paid["invoice"]["total"]) == ("372.00", "2232.00")
    assert (paid["erp"]["total"], paid["erp"]["amount"]) == ("2232.00", "2232.00")
    paused = {
        t["values"]["invoice"]["invoice_number"]: t for t in threads if t["status"] == "interrupted"
    }
    (request,) = next(iter(paused["BHP-88231"]["interrupts"].values()))[0]["value"]
    assert "price_mismatch" in request["description"]
    (unknown,) = next(iter(paused["KIS-0042-7"]["interrupts"].values()))[0]["value"]
    assert "po_unknown" in unknown["description"] and unknown["config"]["allow_accept"] is False
    assert _inbox(folder, "billing@northwind.example") == [
        "Invoice NWM-2026-0412 approved for payment",
        "Invoice NWM-2026-0412 already received",
    ]

    assert sorted(_inbox(folder, "ap@acme.example")) == [
        "Review needed: Invoice BHP-88231 from Blue Harbor Packaging: EUR 1150.00",
        "Review needed: Invoice KIS-0042-7 from Keller Industrial Services: EUR 408.00",
    ]

    client = get_sync_client(url=url)
    done = client.runs.wait(
        paused["BHP-88231"]["thread_id"],
        "invoice_approval",
        command={"resume": {"type": "accept", "by": "demo-user"}},
    )
    assert done["status"] == "paid" and done["erp"]["amount"] == "1150.00"
    assert "Invoice BHP-88231 approved for payment" in _inbox(folder, "ar@blueharbor.example")


def test_a_cached_seed_is_reused_only_if_built_by_this_seeding_code(
    tryton_demo_dir: Path, tmp_path: Path
) -> None:
    seed = tmp_path / "tryton-seed"
    shutil.copytree(tryton_demo_dir, seed)
    assert is_current(seed) and ensure_demo(seed) == load_facts(tryton_demo_dir)

    info = json.loads((seed / "demo.json").read_text())
    (seed / "demo.json").write_text(json.dumps({**info, "seed_version": "built-by-older-code"}))
    assert not is_current(seed)
    # A stale seed is dropped and built again (cut short here: a build takes a minute).
    with pytest.raises(subprocess.TimeoutExpired):
        ensure_demo(seed, timeout=0.05)
    assert not (seed / "demo.json").exists() and not (seed / "demo.sqlite").exists()
