"""The invoice workflow end to end from the console: a price mismatch waits in the inbox, the
operator corrects the price in the page, and the invoice is booked and paid in Tryton.

This module runs its own server (the shipped graphs, with the Tryton connector pointed at the
module's copy of the seeded demo Tryton), beside the suite's server of test graphs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from langgraph_sdk import get_sync_client
from playwright.sync_api import Page, expect

from tests.invoice.samples import invoice
from tests.servers import AgentOpsProcess
from tests.tryton_fixtures import RunningTryton
from tools.documents import Invoice, render_labelled
from tools.tryton import TrytonClient

pytestmark = pytest.mark.browser

ROOT_CONFIG = Path(__file__).resolve().parents[2] / "langgraph.json"


@pytest.fixture(scope="module")
def invoice_server(
    tryton: RunningTryton, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    folder = tmp_path_factory.mktemp("console-invoice")
    connectors = folder / "connectors.yaml"
    section = tryton.settings().model_dump(mode="json")
    section["api_key"] = tryton.facts.rest_key
    connectors.write_text(yaml.safe_dump({"tryton": section}))
    server = AgentOpsProcess(
        f"sqlite:///{folder}/agent-ops.db",
        folder,
        config=ROOT_CONFIG,
        env={"AGENT_OPS_CONNECTORS_CONFIG": str(connectors), "AGENT_OPS_POLL_SECONDS": "0.2"},
        name="console-invoice",
    )
    server.start()
    yield server
    server.stop()


async def _erp_rows(tryton: RunningTryton, reference: str) -> tuple[list[Any], list[Any]]:
    """The supplier invoices of `reference` in Tryton, and the payments of the first."""
    async with TrytonClient(tryton.settings()) as client:
        invoices = await client.search(
            "account.invoice", [("reference", "=", reference)], ("state", "total_amount")
        )
        payments = await client.search(
            "account.payment",
            [("line.move_origin", "=", f"account.invoice,{invoices[0]['id']}")],
            ("amount",),
        )
    return invoices, payments


def test_price_mismatch_is_corrected_in_the_page_and_paid_in_tryton(
    page: Page, invoice_server: AgentOpsProcess, tryton: RunningTryton
) -> None:
    assert invoice_server.url is not None
    client = get_sync_client(url=invoice_server.url)
    thread = client.threads.create()
    thread_id = thread["thread_id"]
    billed = invoice("NWM-CONSOLE-1", "PO-00001", [("WIRE-CU25", "Copper wire", 50, "1.32")])
    paused = client.runs.wait(thread_id, "invoice_approval", input={"invoice": billed})
    assert paused["status"] == "needs_review"

    page.goto(f"{invoice_server.url}/console")
    page.locator(f'#inbox tr[data-thread-id="{thread_id}"] a').click()
    wire = page.locator('.invoice tr[data-line="0"]')
    expect(wire).to_contain_text("PO-00001 line")
    expect(wire.locator("td.flagged")).to_have_text("1.32")
    expect(page.locator('.finding[data-code="price_mismatch"]')).to_contain_text("1.2")
    page.get_by_label("Edit").check()
    page.get_by_label("lines 1 unit_price").fill("1.20")
    page.get_by_label("lines 1 amount").fill("60.00")
    page.get_by_label("subtotal", exact=True).fill("60.00")
    page.get_by_label("total", exact=True).fill("60.00")
    page.get_by_role("button", name="Send decision").click()
    expect(page.locator("#review-outcome")).to_have_attribute(
        "data-run-status", "success", timeout=60_000
    )

    values = client.threads.get_state(thread_id)["values"]
    assert values["status"] == "paid", values.get("reason")
    assert values["erp"]["amount"] == "60.00"
    assert any(d["outcome"] == "edited" for d in values["decisions"]), values["decisions"]
    # Playwright's sync API keeps an event loop on this thread: ask Tryton from another one.
    with ThreadPoolExecutor(1) as pool:
        invoices, payments = pool.submit(asyncio.run, _erp_rows(tryton, "NWM-CONSOLE-1")).result()
    (booked,) = invoices
    assert booked["state"] == "posted"  # Tryton marks it paid once the payment is reconciled
    assert Decimal(str(booked["total_amount"])) == Decimal("60.00")
    (payment,) = payments
    assert Decimal(str(payment["amount"])) == Decimal("60.00")


HOSTILE = "<script>window.__ran = 1</script><img src=x onerror='window.__ran = 2'>"


def test_script_inside_an_emailed_invoice_is_shown_not_run(
    page: Page, invoice_server: AgentOpsProcess
) -> None:
    assert invoice_server.url is not None
    client = get_sync_client(url=invoice_server.url)
    billed = invoice("NWM-CONSOLE-2", "PO-00001", [("WIRE-CU25", f"Wire {HOSTILE}", 10, "1.32")])
    mail = {
        "kind": "mail",
        "key": "INBOX/1/4242",
        "sender": "billing@northwind.example",
        "subject": f"Invoice {HOSTILE}",
        "body": "\n".join(render_labelled(Invoice.model_validate(billed))),
        "documents": [],
    }
    thread_id = client.threads.create()["thread_id"]
    paused = client.runs.wait(thread_id, "invoice_approval", input={"intake": mail})
    assert paused["status"] == "needs_review", paused.get("reason")
    assert HOSTILE in str(paused["invoice"]), paused["invoice"]  # the mail's text, as read

    page.goto(f"{invoice_server.url}/console/inbox/{thread_id}")
    review = page.locator(".interrupt")
    expect(review).to_have_count(1)
    expect(review.locator(".invoice")).to_contain_text(HOSTILE)
    assert page.evaluate("window.__ran") is None
    assert review.locator("script, img").count() == 0
