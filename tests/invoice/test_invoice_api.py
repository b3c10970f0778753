"""invoice_approval through a real server and the official SDK, on both backends.

The crash test kills the server (SIGKILL) while its payment request is on the wire to Tryton,
lets that request land, and starts a new server on the same database: the run resumes from the
step after posting, finds the payment by its key, and the ERP holds one invoice and one payment.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from langgraph_sdk import get_client

from tests.invoice.samples import invoice
from tests.servers import AgentOpsProcess
from tests.tools.proxy import FlakyProxy
from tests.tryton_fixtures import RunningTryton
from tools.tryton import TrytonClient

ROOT_CONFIG = Path(__file__).resolve().parents[2] / "langgraph.json"


def _server(
    database_url: str, folder: Path, tryton_url: str, tryton: RunningTryton, name: str
) -> AgentOpsProcess:
    connectors = folder / f"connectors-{name}.yaml"
    section = tryton.settings(url=tryton_url, attempts=1).model_dump(mode="json")
    section["api_key"] = tryton.facts.rest_key
    connectors.write_text(yaml.safe_dump({"tryton": section}))
    env = {
        "AGENT_OPS_CONNECTORS_CONFIG": str(connectors),
        "AGENT_OPS_LEASE_SECONDS": "2",
        "AGENT_OPS_HEARTBEAT_SECONDS": "0.5",
        "AGENT_OPS_POLL_SECONDS": "0.2",
    }
    return AgentOpsProcess(database_url, folder, config=ROOT_CONFIG, env=env, name=name).start()


async def _erp_rows(tryton: RunningTryton, reference: str) -> tuple[list[Any], list[Any]]:
    async with TrytonClient(tryton.settings()) as client:
        invoices = await client.search(
            "account.invoice", [("reference", "=", reference)], ("state",)
        )
        payments = await client.search(
            "account.payment",
            [("line.move_origin", "=", f"account.invoice,{invoices[0]['id']}")],
            ("state", "amount"),
        )
    return invoices, payments


async def test_mismatch_waits_for_approval_through_the_sdk_then_pays(
    database_url: str, tmp_path: Path, tryton: RunningTryton
) -> None:
    server = _server(database_url, tmp_path, tryton.url, tryton, "server")
    try:
        client = get_client(url=server.url)
        thread = await client.threads.create()
        backend = database_url.split(":")[0]
        inv = invoice(f"NWM-API-{backend}", "PO-00001", [("WIRE-CU25", "Copper wire", 50, "1.32")])
        paused = await client.runs.wait(
            thread["thread_id"], "invoice_approval", input={"invoice": inv}
        )
        assert paused["status"] == "needs_review"
        state = await client.threads.get_state(thread["thread_id"])
        (pause,) = state["tasks"][0]["interrupts"][0]["value"]
        assert "price_mismatch" in pause["description"]
        threads = await client.threads.search(status="interrupted")
        assert thread["thread_id"] in [t["thread_id"] for t in threads]

        done = await client.runs.wait(
            thread["thread_id"],
            "invoice_approval",
            command={"resume": {"type": "accept", "by": "carol"}},
        )
        assert done["status"] == "paid" and done["erp"]["amount"] == "66.00"
        assert any(d["by"] == "carol" for d in done["decisions"])
    finally:
        server.stop()


async def test_a_server_killed_after_posting_pays_exactly_once_on_resume(
    database_url: str, tmp_path: Path, tryton: RunningTryton
) -> None:
    backend = database_url.split(":")[0]
    reference = f"NWM-KILL-{backend}"
    # Not the other backend's quantity: the same total on the same day under another number is a
    # near duplicate (of the invoice that backend's case paid in this module's Tryton).
    quantity, amount = (100, "24.00") if backend == "sqlite" else (90, "21.60")
    with FlakyProxy(tryton.url) as proxy:
        proxy.hold("POST", "/model/account.payment")
        first = _server(database_url, tmp_path, proxy.url, tryton, "first")
        client = get_client(url=first.url)
        thread = await client.threads.create()
        inv = invoice(reference, "PO-00004", [("BOLT-M8", "Steel bolt", quantity, "0.24")])
        run = await client.runs.create(
            thread["thread_id"],
            "invoice_approval",
            input={"invoice": inv},
            config={"configurable": {"invoice_policy": {"require_receipt": False}}},
        )
        assert proxy.holding.wait(60), first.log()
        first.kill()  # the payment request is in flight; the run's last checkpoint is `post`
        proxy.release()  # ...and it lands in Tryton after the server is gone
        await asyncio.sleep(0.5)

        second = _server(database_url, tmp_path, proxy.url, tryton, "second")
        try:
            client = get_client(url=second.url)
            done = await client.runs.join(thread["thread_id"], run["run_id"])
            final = await client.runs.get(thread["thread_id"], run["run_id"])
        finally:
            second.stop()

    assert final["status"] == "success", second.log()
    assert done["status"] == "paid" and done["erp"]["amount"] == amount
    assert "found already created" in next(
        d["reason"] for d in done["decisions"] if d["step"] == "pay"
    )
    invoices, payments = await _erp_rows(tryton, reference)
    assert [i["state"] for i in invoices] == ["posted"]
    assert len(payments) == 1
