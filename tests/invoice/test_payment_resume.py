"""The pay step resumed after a crash, through the graph against the real Tryton: the window
that made invoices paid twice in the chaos test (the dead predecessor's payment create lands in
Tryton after its successor looked) ends with one payment, the predecessor's."""

from __future__ import annotations

import asyncio
import datetime as dt

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from agent_ops.deps import Deps
from graphs.invoice import build
from graphs.invoice._booking import PAYMENTS_SENT
from tests.invoice.samples import invoice, run_config
from tests.tryton.test_payment_races import _dead_writers_payment, _payments
from tests.tryton_fixtures import RunningTryton
from tools.tryton import TrytonClient, TrytonERP


async def test_a_pay_step_resumed_while_its_predecessors_create_lands_pays_once(
    deps: Deps, tryton: RunningTryton
) -> None:
    store = InMemoryStore()
    graph = (
        build()
        .compile(checkpointer=InMemorySaver(), store=store, interrupt_before=["pay"])
        .with_config(deps.bind())
    )
    config = run_config()
    inv = invoice("NWM-7301", "PO-00001", [("BOLT-M8", "Steel bolt M8x40", 400, "0.25")])
    before = await graph.ainvoke({"invoice": inv, "sender": "billing@northwind.example"}, config)
    assert before["status"] == "posted"
    invoice_id = before["erp"]["invoice_id"]
    # What the predecessor killed in the pay step left: its record of the create it sent.
    sent = dt.datetime.now(dt.UTC).isoformat()
    await store.aput(PAYMENTS_SENT, str(invoice_id), {"sent_at": sent, "thread": "dead"})

    async with TrytonClient(tryton.settings()) as client:
        erp = TrytonERP(client)
        posted = await erp.get_invoice(invoice_id)

        async def landing() -> int:  # the dead predecessor's create, committed late
            await asyncio.sleep(1.0)
            return await _dead_writers_payment(erp, posted, f"agent-ops/payment/{invoice_id}")

        landed, state = await asyncio.gather(landing(), graph.ainvoke(None, config))

        assert state["status"] == "paid"
        assert state["erp"]["payment_id"] == landed
        assert "found already created" in state["decisions"][-1]["reason"]
        assert [(row["id"], row["state"]) for row in await _payments(erp, posted)] == [
            (landed, "submitted")
        ]
