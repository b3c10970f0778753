"""Copies of an invoice: one still waiting for a person (claims in the graph's store), one booked
or paid (the ERP), renumbered (`INV-0042` and `inv 42`) or the same amount on the same day under
another number. Against the module's seeded Tryton, in process, with LangGraph's InMemoryStore
(the server gives graphs its own store: see test_mail_invoice.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from agent_ops.deps import Deps
from graphs.invoice import build
from graphs.invoice._claims import NAMESPACE
from graphs.invoice._match import number_key
from tests.invoice.samples import Outbox, invoice, run_config


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def graph(store: InMemoryStore, deps: Deps) -> Pregel:
    return build().compile(checkpointer=InMemorySaver(), store=store).with_config(deps.bind())


def on_thread(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def codes(state: dict[str, Any]) -> list[str]:
    return [f["code"] for f in state["match"]["findings"]]


def pause(state: dict[str, Any]) -> dict[str, Any]:
    (request,) = state["__interrupt__"][0].value
    return dict(request)


async def claims(store: InMemoryStore) -> list[tuple[str, ...]]:
    found = await store.asearch(NAMESPACE, limit=100)
    return sorted((*item.namespace[3:], item.key) for item in found)


def test_invoice_numbers_compare_without_case_blanks_punctuation_and_leading_zeros() -> None:
    assert number_key("INV-0042") == number_key("inv 42") == number_key("Inv/042") == "inv-42"
    assert number_key("INV0042") == "inv-42"  # letters and digits part like a separator
    assert number_key("INV-42-1") != number_key("INV-421")  # digits runs are kept apart
    assert number_key("2026-000") == "2026-0"
    assert number_key(" - / ") is None


async def test_a_copy_of_an_invoice_waiting_for_review_waits_too_and_cannot_be_accepted(
    graph: Pregel, outbox: Outbox, store: InMemoryStore
) -> None:
    # The first waits for a person: its glove price is over the order's.
    lines = [("GLOVE-NIT", "Nitrile gloves", 4, "7.50")]
    first = on_thread("thread-first")
    waiting = await graph.ainvoke({"invoice": invoice("BHP-0091", "PO-00002", lines)}, first)
    assert waiting["status"] == "needs_review" and codes(waiting) == ["price_mismatch"]

    # The same invoice again, its number written otherwise (another format, another reading).
    copy = on_thread("thread-copy")
    state = await graph.ainvoke({"invoice": invoice("bhp 91", "PO-00002", lines)}, copy)
    assert state["status"] == "needs_review"
    assert codes(state) == ["price_mismatch", "duplicate_pending"]
    finding = state["match"]["findings"][1]["message"]
    assert "bhp 91 is also on thread thread-first (as BHP-0091" in finding
    request = pause(state)
    assert request["config"]["allow_accept"] is False
    assert "duplicate_pending" in request["description"]
    assert "Accept is not offered: bhp 91 is also on thread thread-first" in request["description"]
    supplier = str(state["match"]["supplier_id"])
    assert await claims(store) == [
        (supplier, "bhp-91", "thread-copy"),
        (supplier, "bhp-91", "thread-first"),
    ]

    # An accept is refused and pauses again with the reason; nothing is booked.
    again = await graph.ainvoke(Command(resume={"type": "accept"}), copy)
    assert again["status"] == "needs_review"
    assert "Your last answer was not used: bhp 91 is also on thread" in pause(again)["description"]

    # The first is rejected: its claim is released, and the copy checked again is the original.
    rejected = await graph.ainvoke(Command(resume={"type": "ignore"}), first)
    assert rejected["status"] == "rejected" and rejected["claim"] is None
    assert await claims(store) == [(supplier, "bhp-91", "thread-copy")]
    rechecked = await graph.ainvoke(
        Command(resume={"type": "edit", "args": {"invoice_number": "bhp 91"}}), copy
    )
    assert codes(rechecked) == ["price_mismatch"] and pause(rechecked)["config"]["allow_accept"]


async def test_two_copies_checked_at_the_same_moment_pay_once(
    graph: Pregel, outbox: Outbox, store: InMemoryStore
) -> None:
    lines = [("BOLT-M8", "Steel bolt M8x40", 40, "0.25")]
    runs = [
        graph.ainvoke({"invoice": invoice(number, "PO-00001", lines)}, on_thread(thread))
        for number, thread in (("NWM-5500", "thread-a"), ("NWM 05500", "thread-b"))
    ]
    a, b = await asyncio.gather(*runs)
    outcomes = sorted([a["status"], b["status"]])
    # One is paid without a person. The other either saw the first's claim (it waits, naming
    # the first) or, if the first was booked before its check, the ERP's invoice (a duplicate).
    assert outcomes in (["needs_review", "paid"], ["duplicate", "paid"]), outcomes
    paid, other = (a, b) if a["status"] == "paid" else (b, a)
    if other["status"] == "needs_review":
        assert codes(other) == ["duplicate_pending"]
        first = "thread-a" if paid is a else "thread-b"
        assert f"on thread {first}" in other["match"]["findings"][0]["message"]
    else:
        assert codes(other) == ["duplicate"] and other["claim"] is None
    assert len([s for s in (a, b) if s["status"] == "paid"]) == 1


async def test_a_renumbered_copy_of_a_paid_invoice_is_stopped_as_a_duplicate(
    graph: Pregel, outbox: Outbox, store: InMemoryStore
) -> None:
    lines = [("BOX-60", "Shipping carton 60 cm", 30, "1.05")]
    paid = await graph.ainvoke(
        {"invoice": invoice("BHP-00777", "PO-00002", lines)}, on_thread("t-paid")
    )
    assert paid["status"] == "paid"
    supplier = str(paid["match"]["supplier_id"])
    assert (supplier, "bhp-777", "t-paid") in await claims(store)  # kept: the ERP knows it too

    copy = await graph.ainvoke(
        {"invoice": invoice("bhp/777", "PO-00002", lines), "sender": "ar@blueharbor.example"},
        on_thread("t-copy"),
    )
    assert copy["status"] == "duplicate" and "duplicate" in codes(copy)
    assert "bhp/777 from Blue Harbor Packaging is already booked" in copy["reason"]
    assert (supplier, "bhp-777", "t-copy") not in await claims(store)  # released: never booked
    assert outbox.sent[-1][:2] == ("ar@blueharbor.example", "Invoice bhp/777 already received")


async def test_the_same_amount_on_the_same_day_under_another_number_waits_as_near_duplicate(
    graph: Pregel, outbox: Outbox
) -> None:
    lines = [("CUT-DISC", "Cutting disc 125 mm", 10, "1.80")]
    vat = "3.60"  # the order's lines carry 20 % VAT
    waiting = await graph.ainvoke(
        {"invoice": invoice("NWM-A-1", "PO-00005", lines, tax=vat)},
        run_config(auto_approve_limit="1"),  # waits for a person: above the limit
    )
    assert codes(waiting) == ["over_limit"]
    renumbered = await graph.ainvoke(
        {"invoice": invoice("NWM-B-1", "PO-00005", lines, tax=vat)}, on_thread("t-near")
    )
    assert renumbered["status"] == "needs_review" and codes(renumbered) == ["near_duplicate"]
    message = renumbered["match"]["findings"][0]["message"]
    assert "NWM-A-1 on thread" in message and "same date" in message and "21.60 EUR" in message
    assert pause(renumbered)["config"]["allow_accept"] is True  # maybe another invoice: a person
    paid = await graph.ainvoke(
        Command(resume={"type": "accept", "by": "carol"}), on_thread("t-near")
    )
    assert paid["status"] == "paid"

    # Booked and paid now: a third one under yet another number finds it in the ERP.
    third = await graph.ainvoke(
        {"invoice": invoice("NWM-C-1", "PO-00005", lines, tax=vat)}, run_config()
    )
    near = [f["message"] for f in third["match"]["findings"] if f["code"] == "near_duplicate"]
    assert any("vendor number NWM-B-1) has the same date" in m for m in near), near
    assert third["status"] == "needs_review"

    # The same supplier, day and total for another order: not a copy, paid without a person.
    other_order = await graph.ainvoke(
        {"invoice": invoice("NWM-D-1", "PO-00001", [("WIRE-CU25", "Copper wire", 18, "1.20")])},
        run_config(),
    )
    assert other_order["match"]["supplier_id"] == third["match"]["supplier_id"]
    assert other_order["invoice"]["total"] == "21.60"
    assert other_order["status"] == "paid", other_order["match"]["findings"]


async def test_without_a_store_the_check_records_that_waiting_copies_were_not_checked(
    deps: Deps,
) -> None:
    graph = build().compile(checkpointer=InMemorySaver()).with_config(deps.bind())
    lines = [("GLOVE-NIT", "Nitrile gloves", 1, "6.50")]
    state = await graph.ainvoke({"invoice": invoice("BHP-4040", "PO-00002", lines)}, run_config())
    assert state["status"] == "paid"
    check = next(d for d in state["decisions"] if d["step"] == "check")
    assert check["reason"].endswith(
        "(copies waiting for review were not checked: the graph runs without a store)"
    )
