"""The invoice workflow in process against a real (seeded) Tryton: each path to its end."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from typing import Any

import pytest
from langgraph.pregel import Pregel
from langgraph.types import Command

from agent_ops.deps import Deps
from graphs.invoice import Connections
from tests.invoice.samples import Outbox, invoice, run_config
from tests.tools.proxy import FlakyProxy
from tests.tryton_fixtures import RunningTryton
from tools.tryton import TrytonClient


async def _ledger_payments(tryton: RunningTryton, reference: str) -> tuple[list[Any], list[Any]]:
    async with TrytonClient(tryton.settings()) as client:
        invoices = await client.search(
            "account.invoice",
            [("reference", "=", reference)],
            ("state", "number", "tax_amount", "total_amount"),
        )
        payments = await client.search(
            "account.payment",
            [("line.move_origin", "=", f"account.invoice,{invoices[0]['id']}")] if invoices else [],
            ("state", "amount"),
        )
    return invoices, payments


async def _paused(
    graph: Pregel, start: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Run the workflow from `start` on a new thread until it waits for a person; return the
    thread's config, the state and the one pause."""
    config = run_config()
    state = await graph.ainvoke(start, config)
    (pause,) = state["__interrupt__"][0].value
    return config, state, pause


async def test_a_clean_match_is_booked_posted_and_paid_without_a_person(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    inv = invoice("NWM-7001", "PO-00001", [("BOLT-M8", "Steel bolt M8x40", 400, "0.25")])
    state = await graph.ainvoke(
        {"invoice": inv, "sender": "billing@northwind.example"}, run_config()
    )

    assert state["status"] == "paid"
    assert [d["step"] for d in state["decisions"]] == ["receive", "check", "book", "post", "pay"]
    assert state["decisions"][1]["outcome"] == "approved" and state["decisions"][1]["by"] == "rules"
    assert state["erp"]["amount"] == "100.00"
    invoices, payments = await _ledger_payments(tryton, "NWM-7001")
    assert [i["state"] for i in invoices] == ["posted"]
    assert [(p["state"], p["amount"]) for p in payments] == [("submitted", Decimal("100.00"))]
    assert state["ledger"]["this_invoice"][0]["balance"] == "100.00"
    assert [(to, subject) for to, subject, _, _ in outbox.sent] == [
        ("billing@northwind.example", "Invoice NWM-7001 approved for payment")
    ]
    assert state["notifications"][0]["sent"] is True


async def test_a_price_mismatch_waits_for_a_person_then_approval_pays_it(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    inv = invoice("BHP-8001", "PO-00002", [("BOX-60", "Shipping carton 60 cm", 500, "1.15")])
    config, state, pause = await _paused(graph, {"invoice": inv})

    assert pause["action_request"]["action"] == "approve_invoice"
    assert pause["config"]["allow_accept"] is True
    assert "price_mismatch" in pause["description"] and "+9.5%" in pause["description"]
    assert state["status"] == "needs_review"

    state = await graph.ainvoke(Command(resume={"type": "accept", "by": "alice"}), config)
    assert state["status"] == "paid"
    review = next(d for d in state["decisions"] if d["step"] == "review")
    assert review["by"] == "alice" and "price_mismatch" in review["reason"]
    invoices, payments = await _ledger_payments(tryton, "BHP-8001")
    assert len(invoices) == 1 and [p["amount"] for p in payments] == [Decimal("575.00")]
    [outcome] = [n for n in state["notifications"] if n["purpose"] == "outcome"]
    assert outcome["reason"] == "no sender address to notify"


async def test_a_taxed_invoice_is_paid_with_the_erps_tax_and_total_equal_to_the_vendors(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    inv = invoice(
        "NWM-7101", "PO-00005", [("DRILL-HSS", "HSS drill bit set", 10, "24.00")], tax="48.00"
    )
    state = await graph.ainvoke({"invoice": inv}, run_config())

    assert state["status"] == "paid"
    assert state["erp"]["total"] == "288.00" and state["erp"]["amount"] == "288.00"
    invoices, payments = await _ledger_payments(tryton, "NWM-7101")
    assert [(i["state"], i["tax_amount"], i["total_amount"]) for i in invoices] == [
        ("posted", Decimal("48.00"), Decimal("288.00"))
    ]
    assert [p["amount"] for p in payments] == [Decimal("288.00")]
    assert state["ledger"]["this_invoice"][0]["balance"] == "288.00"


async def test_a_wrong_tax_waits_for_review_is_not_posted_when_accepted_and_is_paid_once_corrected(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    # 19 % stated on lines that carry Tryton's 20 % VAT.
    inv = invoice(
        "NWM-7102", "PO-00005", [("CUT-DISC", "Cutting disc 125 mm", 100, "1.80")], tax="34.20"
    )
    config, state, pause = await _paused(graph, {"invoice": inv})

    assert (
        "`tax_mismatch` (tax): tax 34.20 on the invoice, 36.00 at the order lines' rates "
        "(20% on 180.00)"
    ) in pause["description"]
    # A person who waves the tax through still gets no invoice posted with another total.
    state = await graph.ainvoke(Command(resume={"type": "accept", "by": "erin"}), config)
    (pause,) = state["__interrupt__"][0].value
    assert pause["config"]["allow_accept"] is False
    assert (
        "`booking_mismatch` (tax,total): the ERP computes tax 36.00 and total 216.00 for the "
        "booked lines, the invoice states tax 34.20 and total 214.20; draft supplier invoice"
    ) in pause["description"]
    assert [(d["step"], d["outcome"]) for d in state["decisions"]][-2:] == [
        ("review", "approved"),
        ("book", "needs_review"),
    ]
    invoices, _ = await _ledger_payments(tryton, "NWM-7102")
    assert invoices == []

    # The draft is gone, so the corrected invoice is booked afresh, not taken for a duplicate.
    fixed = {"tax": "36.00", "total": "216.00"}
    state = await graph.ainvoke(Command(resume={"type": "edit", "args": fixed}), config)
    assert state["status"] == "paid" and state["erp"]["amount"] == "216.00"
    invoices, _ = await _ledger_payments(tryton, "NWM-7102")
    assert [(i["tax_amount"], i["total_amount"]) for i in invoices] == [
        (Decimal("36.00"), Decimal("216.00"))
    ]


async def test_an_edit_is_checked_again_and_a_bad_edit_pauses_again(
    graph: Pregel, outbox: Outbox
) -> None:
    inv = invoice("BHP-8002", "PO-00002", [("GLOVE-NIT", "Nitrile gloves", 10, "7.50")])
    config = run_config()
    await graph.ainvoke({"invoice": inv}, config)

    state = await graph.ainvoke(
        Command(resume={"type": "edit", "args": {"currency": "euro"}}), config
    )
    (pause,) = state["__interrupt__"][0].value
    assert "not used" in pause["description"] and "currency" in pause["description"]

    fixed = {**inv["lines"][0], "unit_price": "6.50", "amount": "65.00"}
    edit = {"lines": [fixed], "subtotal": "65.00", "total": "65.00"}
    state = await graph.ainvoke(
        Command(resume=[{"type": "edit", "args": {"action": "approve_invoice", "args": edit}}]),
        config,
    )
    assert state["status"] == "paid"
    steps = [(d["step"], d["outcome"]) for d in state["decisions"]]
    assert steps[1:5] == [
        ("check", "needs_review"),
        ("review", "edited"),
        ("check", "approved"),
        ("book", "booked"),
    ]
    assert state["erp"]["amount"] == "65.00"


async def test_a_rejection_records_the_reason_and_tells_the_vendor(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    inv = invoice("KIS-9001", "PO-00003", [("MAINT-H", "Maintenance technician hour", 12, "68.00")])
    config, _, pause = await _paused(graph, {"invoice": inv, "sender": "ar@keller.example"})
    assert "qty_over_received" in pause["description"]

    state = await graph.ainvoke(
        Command(resume={"type": "response", "args": "The work was not done yet."}), config
    )
    assert state["status"] == "rejected" and state["reason"] == "The work was not done yet."
    assert outbox.sent[-1][:2] == ("ar@keller.example", "Invoice KIS-9001 rejected")
    assert "not done yet" in outbox.sent[-1][2]
    invoices, _ = await _ledger_payments(tryton, "KIS-9001")
    assert invoices == []


async def test_a_duplicate_invoice_is_stopped_before_the_erp_sees_it_twice(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    inv = invoice("NWM-7002", "PO-00001", [("WIRE-CU25", "Copper wire", 100, "1.20")])
    first = await graph.ainvoke({"invoice": inv}, run_config())
    again = await graph.ainvoke({"invoice": {**inv, "invoice_number": " nwm-7002"}}, run_config())

    assert first["status"] == "paid"
    assert again["status"] == "duplicate"
    assert first["erp"]["invoice_number"] in again["reason"]
    assert [d["step"] for d in again["decisions"]] == ["receive", "check"]
    invoices, payments = await _ledger_payments(tryton, "NWM-7002")
    assert len(invoices) == 1 and len(payments) == 1


async def test_unknown_po_cannot_be_accepted_only_edited_or_rejected(
    graph: Pregel, outbox: Outbox
) -> None:
    inv = invoice(
        "NWM-7003", "PO-99999", [("BOLT-M8", "bolts", 10, "0.25")], vendor="Northwind Metals"
    )
    config, state, pause = await _paused(graph, {"invoice": inv})
    assert pause["config"]["allow_accept"] is False and "po_unknown" in pause["description"]

    state = await graph.ainvoke(Command(resume={"type": "accept"}), config)
    assert (
        "no supplier and purchase order matched"
        in state["__interrupt__"][0].value[0]["description"]
    )
    state = await graph.ainvoke(Command(resume={"type": "ignore", "by": "bob"}), config)
    assert state["status"] == "rejected" and state["decisions"][-1]["by"] == "bob"


async def test_bad_input_is_an_error_naming_the_field(graph: Pregel, outbox: Outbox) -> None:
    from agent_ops.errors import InvalidInput

    with pytest.raises(InvalidInput, match="invoice_number"):
        await graph.ainvoke({"invoice": {"vendor_name": "x"}}, run_config())
    with pytest.raises(InvalidInput, match="give the workflow"):
        await graph.ainvoke({"sender": "a@b.example"}, run_config())
    with pytest.raises(InvalidInput, match="price_tolerance_pct"):
        inv = invoice("NWM-7004", "PO-00001", [("BOLT-M8", "bolts", 1, "0.25")])
        await graph.ainvoke({"invoice": inv}, run_config(price_tolerance_pct=-1))


async def test_an_erp_that_is_down_fails_the_run_with_the_reason_and_a_rerun_finishes(
    graph: Pregel, tryton: RunningTryton
) -> None:
    from agent_ops.errors import ConnectorUnavailable

    with FlakyProxy(tryton.url) as proxy:
        settings = tryton.settings(url=proxy.url, attempts=1, timeout=2)
        graph = graph.with_config(Deps(connectors=Connections(tryton=settings)).bind())
        proxy.fail("GET", 3, mode="503")  # one per graph-level attempt of `check`
        inv = invoice("NWM-7005", "PO-00004", [("BOLT-M8", "bolts", 200, "0.24")])
        config = run_config(require_receipt=False)
        with pytest.raises(ConnectorUnavailable):
            await graph.ainvoke({"invoice": inv}, config)
        assert proxy.seen["GET"] == 3
        state = await graph.ainvoke(None, config)  # the same thread, from where it failed
    assert state["status"] == "paid" and state["erp"]["amount"] == "48.00"


def _intake(*documents: tuple[str, str, bytes], body: str | None = None) -> dict[str, Any]:
    return {
        "intake": {
            "kind": "mail",
            "key": f"INBOX/1/{uuid.uuid4().int % 10_000}",
            "sender": "billing@northwind.example",
            "subject": "Invoice",
            "body": body,
            "documents": [
                {"filename": name, "media_type": kind, "data_b64": base64.b64encode(data).decode()}
                for name, kind, data in documents
            ],
        }
    }


async def test_unreadable_documents_wait_for_a_person_who_can_type_the_invoice_in(
    graph: Pregel, outbox: Outbox
) -> None:
    broken = _intake(("scan.pdf", "application/pdf", b"%PDF-1.7\n1 0 obj <<"))
    config, state, pause = await _paused(graph, broken)
    assert pause["config"]["allow_accept"] is False
    assert "unreadable" in pause["description"] and state["invoice"] is None

    # PO-00001's wire: 300 received, 100 billed by the duplicate test of this module.
    typed = invoice("NWM-7006", "PO-00001", [("WIRE-CU25", "Copper wire 2.5 mm2", 50, "1.20")])
    state = await graph.ainvoke(
        Command(resume={"type": "edit", "args": typed, "by": "dana"}), config
    )
    assert state["status"] == "paid" and state["erp"]["amount"] == "60.00"
    assert [d["outcome"] for d in state["decisions"]][:4] == [
        "received",
        "needs_review",
        "needs_review",
        "edited",
    ]


async def test_a_mail_without_attachment_or_text_and_a_ubl_failing_its_schema_wait_with_the_reason(
    graph: Pregel, outbox: Outbox
) -> None:
    empty = await graph.ainvoke(_intake(body="  "), run_config())
    (pause,) = empty["__interrupt__"][0].value
    assert "no attachment and no text" in pause["description"]

    ubl = (
        b'<?xml version="1.0"?>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
        b'Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:'
        b'CommonBasicComponents-2"><cbc:ID>X-1</cbc:ID><cbc:IssueDate>yesterday</cbc:IssueDate>'
        b"</Invoice>"
    )
    bad = await graph.ainvoke(_intake(("x.xml", "application/xml", ubl)), run_config())
    (pause,) = bad["__interrupt__"][0].value
    assert "IssueDate" in pause["description"] and pause["config"]["allow_accept"] is False
    # Nothing was booked for either: the ERP never saw them.
    assert all(d["step"] not in ("book", "pay") for d in empty["decisions"] + bad["decisions"])
