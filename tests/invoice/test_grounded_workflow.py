"""Documents in layouts no rule was written for, through the workflow against the demo Tryton:
the extract step reads them against the ERP's suppliers and open orders (no model), clean ones
are paid without a person, misleading ones wait for one with the reason."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from langgraph.pregel import Pregel

from graphs.invoice._hints import document_hints, sender_address
from tests.documents.grounded_samples import Sample, samples
from tests.invoice.samples import Outbox, run_config
from tests.tryton_fixtures import RunningTryton
from tools.tryton import TrytonClient, TrytonERP

SAMPLES = {s.name: s for s in samples()}


def _intake(sample: Sample, sender: str) -> dict[str, Any]:
    document = sample.document
    intake: dict[str, Any] = {
        "kind": "mail",
        "key": f"INBOX/1/{uuid.uuid4().int % 10_000}",
        "sender": sender,
        "subject": "Invoice",
        "body": document.text,
        "documents": [],
    }
    if document.text is None:
        intake["body"] = "Please find our invoice attached."
        intake["documents"] = [document.model_dump()]
    return {"intake": intake}


async def _booked(tryton: RunningTryton, reference: str) -> list[dict[str, Any]]:
    async with TrytonClient(tryton.settings()) as client:
        return await client.search(
            "account.invoice", [("reference", "=", reference)], ("state", "total_amount")
        )


async def test_a_clean_pdf_in_an_unknown_layout_is_paid_without_a_person(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    sample = SAMPLES["pdf-en-boxed"]
    state = await graph.ainvoke(
        _intake(sample, "invoices@blueharbor-packaging.example"), run_config()
    )

    extract = next(d for d in state["decisions"] if d["step"] == "extract")
    assert extract["outcome"] == "extracted" and "grounded" in extract["reason"], extract
    assert state["status"] == "paid", state["decisions"]
    assert state["extraction"]["evidence"]["total"]["text"].endswith("760.00")
    invoices = await _booked(tryton, "BHP-26-0417")
    assert [i["state"] for i in invoices] == ["posted"]
    assert str(invoices[0]["total_amount"]) == "760.00"


async def test_a_clean_plain_text_mail_with_vat_is_paid_without_a_person(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    sample = SAMPLES["text-en"]
    state = await graph.ainvoke(_intake(sample, "billing@northwind-metals.example"), run_config())

    assert state["status"] == "paid", state["decisions"]
    assert state["extraction"]["method"] == "grounded"
    assert state["extraction"]["evidence"]["vendor_name"]["how"].startswith(
        "identified by sender address"
    )
    invoices = await _booked(tryton, "NWM-7101")
    assert [(i["state"], str(i["total_amount"])) for i in invoices] == [("posted", "252.00")]


async def test_misleading_documents_wait_for_a_person_with_the_reason(
    graph: Pregel, outbox: Outbox, tryton: RunningTryton
) -> None:
    cases = {
        "pdf-delivery-note": ("invoices@blueharbor-packaging.example", "not an invoice"),
        "pdf-arithmetic-error": ("invoices@blueharbor-packaging.example", "lines[1].amount"),
        "text-prompt-injection": ("billing@northwind-metals.example", "instructions"),
        "text-unknown-vendor": ("billing@northwind-metais.example", "vendor_name"),
    }
    for name, (sender, reason) in cases.items():
        state = await graph.ainvoke(_intake(SAMPLES[name], sender), run_config())

        assert state["status"] == "needs_review", (name, state["decisions"])
        (pause,) = state["__interrupt__"][0].value
        assert reason in pause["description"], (name, pause["description"])
        assert all(d["step"] not in ("book", "pay") for d in state["decisions"]), name
    # nothing of theirs reached the ERP
    for reference in ("BHP-26-0418", "NWM-7102"):
        assert await _booked(tryton, reference) == []


def test_the_sender_is_parsed_from_a_from_header_with_a_display_name() -> None:
    assert sender_address('"Northwind, Billing" <billing@northwind-metals.example>') == (
        "billing@northwind-metals.example"
    )
    assert sender_address("=?utf-8?q?M=C3=BCller?= <a@b.example>, c@d.example") == "a@b.example"
    assert sender_address("no address here") is None


async def test_the_erp_gives_the_reader_suppliers_identifiers_and_open_order_lines(
    erp: TrytonERP,
) -> None:
    hints = await document_hints(erp, "Northwind <billing@northwind-metals.example>")

    assert hints.sender == "billing@northwind-metals.example"
    by_name = {s.name: s for s in hints.suppliers}
    nwm = by_name["Northwind Metals"]
    assert nwm.tax_ids == ["DE123456704"]
    assert nwm.emails == ["billing@northwind-metals.example"]
    orders = {o.number: o for o in nwm.orders}
    assert {"PO-00001", "PO-00004", "PO-00005"} <= set(orders)
    drill = next(line for line in orders["PO-00005"].lines if line.product_code == "DRILL-HSS")
    assert (drill.unit_price, drill.tax_rate, drill.currency) == (
        Decimal("24.0000"),
        Decimal("0.20"),
        "EUR",
    )
    assert drill.quantity_ordered == Decimal("40") and drill.quantity_received == Decimal("40")
    assert by_name["Keller Industrial Services"].tax_ids == ["ATU12345675"]
