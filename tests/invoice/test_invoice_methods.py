"""The invoice workflow on purchase orders of each of Tryton's invoice methods, against a real
Tryton: `order` (Tryton's default, a draft supplier invoice made on confirmation), `fulfillment`
(drafts made for what is received) and `manual` (none).

Each test bills purchase orders of its own, added to this module's copy of the demo.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langgraph.pregel import Pregel

from tests.invoice.samples import invoice, run_config
from tests.tryton_fixtures import RunningTryton
from tools.tryton import TrytonClient
from tools.tryton_demo import (
    DemoServer,
    InvoiceMethod,
    Order,
    OrderLine,
    add_orders,
    copy_demo,
    load_facts,
)

METHODS = ("order", "fulfillment", "manual")
VENDOR = "Northwind Metals"
BOLTS = ("BOLT-M8", "Steel bolt M8x40", "0.25")
WIRE = ("WIRE-CU25", "Copper wire 2.5 mm2", "1.20")
# Per method, the orders of each test, in this order: clean, partial, retried, over-billed.
ORDERS_PER_METHOD = 4


def _order(index: int) -> Order:
    return Order(
        "SUP-NWM",
        f"Q-METHODS-{index}",
        (
            OrderLine("BOLT-M8", 100, Decimal("0.25"), received=100),
            OrderLine("WIRE-CU25", 50, Decimal("1.20"), received=50),
        ),
    )


@pytest.fixture(scope="module")
def numbers(
    tryton_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, list[str]], RunningTryton]]:
    directory = tmp_path_factory.mktemp("tryton-methods")
    copy_demo(tryton_demo_dir, directory)
    made: dict[str, list[str]] = {}
    # Tryton's default (no method given), then the two others by add_orders' argument.
    made["order"] = add_orders(directory, [_order(i) for i in range(ORDERS_PER_METHOD)])
    others: tuple[InvoiceMethod, ...] = ("fulfillment", "manual")
    for method in others:
        orders = [_order(len(made) * ORDERS_PER_METHOD + i) for i in range(ORDERS_PER_METHOD)]
        made[method] = add_orders(directory, orders, invoice_method=method)
    facts = load_facts(directory)
    with DemoServer(directory) as server:
        yield made, RunningTryton(server.url, facts)


@pytest.fixture(scope="module")
def tryton(numbers: tuple[dict[str, list[str]], RunningTryton]) -> RunningTryton:
    return numbers[1]


@pytest.fixture(scope="module")
def orders(numbers: tuple[dict[str, list[str]], RunningTryton]) -> dict[str, list[str]]:
    """Per invoice method, the numbers of the tests' orders (see ORDERS_PER_METHOD)."""
    return numbers[0]


async def _invoices(tryton: RunningTryton, po: str) -> list[dict[str, Any]]:
    """Every supplier invoice with a line of purchase order `po`, oldest first."""
    async with TrytonClient(tryton.settings()) as client:
        rows = await client.search(
            "account.invoice",
            [("type", "=", "in"), ("lines.origin.purchase.number", "=", po, "purchase.line")],
            ("state", "reference", "comment", "lines.quantity", "lines.product.code"),
            order=[("id", "ASC")],
        )
    return rows


Item = tuple[tuple[str, str, str], int]  # a product (code, description, unit price), a quantity


def _northwind(number: str, po: str, *items: Item) -> dict[str, Any]:
    """Northwind's invoice `number` on `po` billing `items`."""
    lines = [(code, text, qty, price) for (code, text, price), qty in items]
    return invoice(number, po, lines, vendor=VENDOR)


async def _billed(graph: Pregel, number: str, po: str, *items: Item) -> dict[str, Any]:
    """Run Northwind's invoice `number` through the workflow until it ends or waits: the state."""
    state: dict[str, Any] = await graph.ainvoke(
        {"invoice": _northwind(number, po, *items)}, run_config()
    )
    return state


def _lines(row: dict[str, Any]) -> list[tuple[str, float]]:
    return sorted((line["product"]["code"], line["quantity"]) for line in row["lines"])


async def test_every_method_confirms_the_order_as_tryton_does(
    tryton: RunningTryton, orders: dict[str, list[str]]
) -> None:
    drafted = {}
    for method in METHODS:
        rows = await _invoices(tryton, orders[method][0])
        drafted[method] = [(row["state"], _lines(row)) for row in rows]
    both = [("BOLT-M8", 100.0), ("WIRE-CU25", 50.0)]
    assert drafted == {"order": [("draft", both)], "fulfillment": [("draft", both)], "manual": []}
    assert tryton.facts.invoice_methods[orders["order"][0]] == "order"
    assert tryton.facts.invoice_methods[orders["fulfillment"][0]] == "fulfillment"


@pytest.mark.parametrize("method", METHODS)
async def test_a_clean_invoice_is_booked_onto_trytons_draft_posted_once_and_paid(
    graph: Pregel, tryton: RunningTryton, orders: dict[str, list[str]], method: str
) -> None:
    po = orders[method][0]
    before = await _invoices(tryton, po)
    state = await _billed(graph, f"NWM-{method}-1", po, (BOLTS, 100), (WIRE, 50))

    assert state["status"] == "paid" and state["erp"]["amount"] == "85.00"
    (booking,) = [d for d in state["decisions"] if d["step"] == "book"]
    after = await _invoices(tryton, po)
    # One invoice for these purchase lines, posted: Tryton's own draft where it made one.
    (posted,) = after
    assert (posted["state"], posted["reference"]) == ("posted", f"NWM-{method}-1")
    assert _lines(posted) == [("BOLT-M8", 100.0), ("WIRE-CU25", 50.0)]
    assert "agent-ops idempotency key: agent-ops/invoice/" in posted["comment"]
    if method == "manual":
        assert before == [] and booking["reason"].endswith("created")
    else:
        assert [row["id"] for row in before] == [posted["id"]] == [state["erp"]["invoice_id"]]
        assert (
            "is Tryton's draft for the order, fitted to the vendor's invoice" in (booking["reason"])
        )
    async with TrytonClient(tryton.settings()) as client:
        payments = await client.search(
            "account.payment",
            [("line.move_origin", "=", f"account.invoice,{posted['id']}")],
            ("state", "amount"),
        )
    assert [(p["state"], p["amount"]) for p in payments] == [("submitted", Decimal("85.00"))]


@pytest.mark.parametrize("method", METHODS)
async def test_a_partial_bill_leaves_the_rest_billable_and_its_invoice_is_paid_too(
    graph: Pregel, tryton: RunningTryton, orders: dict[str, list[str]], method: str
) -> None:
    po = orders[method][1]
    state = await _billed(graph, f"NWM-{method}-2a", po, (BOLTS, 60))
    assert state["status"] == "paid" and state["erp"]["amount"] == "15.00"

    rows = await _invoices(tryton, po)
    posted = [row for row in rows if row["state"] == "posted"]
    waiting = [row for row in rows if row["state"] == "draft"]
    assert [_lines(row) for row in posted] == [[("BOLT-M8", 60.0)]]
    if method == "manual":
        assert waiting == []
    else:
        # What the vendor did not bill waits on Tryton's drafts: the wire on the one it made,
        # the rest of the bolts on the one its processing made when the first invoice posted.
        assert sorted(line for row in waiting for line in _lines(row)) == [
            ("BOLT-M8", 40.0),
            ("WIRE-CU25", 50.0),
        ]
        assert all(row["reference"] is None for row in waiting)

    state = await _billed(graph, f"NWM-{method}-2b", po, (BOLTS, 40), (WIRE, 50))
    assert state["status"] == "paid" and state["erp"]["amount"] == "70.00"
    # Where Tryton drafted, the second invoice is made of the lines of its two drafts (the
    # wire's, fitted, and the bolts' it drafted again); no draft is left over.
    rows = await _invoices(tryton, po)
    assert sorted((row["state"], row["reference"], _lines(row)) for row in rows) == [
        ("posted", f"NWM-{method}-2a", [("BOLT-M8", 60.0)]),
        ("posted", f"NWM-{method}-2b", [("BOLT-M8", 40.0), ("WIRE-CU25", 50.0)]),
    ]


@pytest.mark.parametrize("method", ["order", "fulfillment"])
async def test_billing_more_than_ordered_waits_for_a_person_and_leaves_trytons_draft_alone(
    graph: Pregel, tryton: RunningTryton, orders: dict[str, list[str]], method: str
) -> None:
    po = orders[method][3]
    state = await _billed(graph, f"NWM-{method}-4", po, (BOLTS, 120))

    (pause,) = state["__interrupt__"][0].value
    assert "qty_over_ordered" in pause["description"]
    assert "120 billed, 100 ordered and 0 already invoiced" in pause["description"]
    rows = await _invoices(tryton, po)
    assert [(row["state"], row["reference"], _lines(row)) for row in rows] == [
        ("draft", None, [("BOLT-M8", 100.0), ("WIRE-CU25", 50.0)])
    ]


async def test_a_book_step_run_again_finds_the_fitted_draft_and_fits_nothing_twice(
    graph: Pregel, tryton: RunningTryton, orders: dict[str, list[str]]
) -> None:
    po = orders["order"][2]
    inv = _northwind("NWM-order-3", po, (BOLTS, 70))
    config = run_config()
    state = await graph.ainvoke({"invoice": inv}, config, interrupt_after=["book"])
    assert state["status"] == "booked"
    # As if the worker died after the booking, before its checkpoint: book runs again.
    await graph.aupdate_state(config, {"status": "approved"}, as_node="check")
    state = await graph.ainvoke(None, config, interrupt_after=["book"])
    assert state["status"] == "booked"
    state = await graph.ainvoke(None, config)

    assert state["status"] == "paid" and state["erp"]["amount"] == "17.50"
    bookings = [d["reason"] for d in state["decisions"] if d["step"] == "book"]
    assert len(bookings) == 2
    assert "Tryton's draft(s)" in bookings[0] and bookings[1].endswith("found already booked")
    rows = await _invoices(tryton, po)
    ours = [row for row in rows if row["reference"] == "NWM-order-3"]
    assert [(row["state"], _lines(row)) for row in ours] == [("posted", [("BOLT-M8", 70.0)])]
    # The rest waits on Tryton's drafts, once: bolts 30 (drafted again on posting), wire 50.
    waiting = sorted(line for row in rows if row["state"] == "draft" for line in _lines(row))
    assert waiting == [("BOLT-M8", 30.0), ("WIRE-CU25", 50.0)]
