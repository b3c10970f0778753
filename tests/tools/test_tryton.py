"""The Tryton connector against a real trytond serving the seeded demo over its REST API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent_ops.errors import ConfigError, ConnectorRejected, ConnectorUnavailable, InvalidInput
from tests.tools.proxy import FlakyProxy
from tests.tryton_fixtures import RunningTryton
from tools.tryton import (
    Invoice,
    InvoiceLineInput,
    PurchaseOrder,
    TrytonClient,
    TrytonERP,
    TrytonSettings,
    tryton_tools,
)
from tools.tryton_demo import DemoServer, add_payment_journal, copy_demo

TODAY = dt.date.today()


async def _order(erp: TrytonERP, number: str) -> PurchaseOrder:
    (order,) = await erp.find_purchase_orders(number=number)
    return order


async def _bill_in_full(erp: TrytonERP, number: str, key: str) -> Invoice:
    """Book a draft invoice billing every line of a purchase order at its price."""
    order = await _order(erp, number)
    return await erp.book_supplier_invoice(
        idempotency_key=key,
        supplier_id=order.supplier_id,
        invoice_date=TODAY,
        reference=f"SUPP-{key}",
        lines=[
            InvoiceLineInput(
                purchase_line_id=line.id, quantity=line.quantity, unit_price=line.unit_price
            )
            for line in order.lines
        ],
    )


async def test_find_purchase_order_by_number_gives_lines_with_received_quantities(
    erp: TrytonERP,
) -> None:
    order = await _order(erp, "PO-00001")

    assert (order.supplier, order.reference, order.state) == (
        "Northwind Metals",
        "Q-NWM-1001",
        "processing",
    )
    assert order.total_amount == Decimal("700.00")
    assert order.purchase_date == TODAY
    lines = {line.product_code: line for line in order.lines}
    assert (lines["BOLT-M8"].quantity, lines["BOLT-M8"].received_quantity) == (400, 400)
    assert (lines["WIRE-CU25"].quantity, lines["WIRE-CU25"].received_quantity) == (500, 300)
    assert lines["WIRE-CU25"].unit == "m"
    assert lines["WIRE-CU25"].unit_price == Decimal("1.2000")
    # Confirmed with Tryton's default invoice method: its draft invoice waits for the vendor's,
    # and is not counted as invoiced.
    assert order.invoice_method == "order"
    assert all(line.invoiced_quantity == 0 for line in order.lines)
    assert [line.drafted_quantity for line in order.lines] == [400, 500]
    assert all(line.tax_rate == 0 for line in order.lines)


async def test_a_vat_purchase_line_is_billed_with_its_vat_and_a_draft_can_be_deleted(
    erp: TrytonERP,
) -> None:
    order = await _order(erp, "PO-00005")
    assert (order.untaxed_amount, order.tax_amount, order.total_amount) == (
        Decimal("1860.00"),
        Decimal("372.00"),
        Decimal("2232.00"),
    )
    assert [line.tax_rate for line in order.lines] == [Decimal("0.20"), Decimal("0.20")]
    drills = next(line for line in order.lines if line.product_code == "DRILL-HSS")

    async def bill(key: str) -> Invoice:
        return await erp.book_supplier_invoice(
            idempotency_key=key,
            supplier_id=order.supplier_id,
            invoice_date=TODAY,
            reference=f"SUPP-{key}",
            lines=[InvoiceLineInput(purchase_line_id=drills.id, quantity=5, unit_price=24)],
        )

    draft = await bill("mail-0030/NWM-VAT-1")
    assert (draft.untaxed_amount, draft.tax_amount, draft.total_amount) == (
        Decimal("120.00"),
        Decimal("24.00"),
        Decimal("144.00"),
    )
    await erp.delete_draft_invoice(draft.id)
    with pytest.raises(ConnectorRejected):
        await erp.get_invoice(draft.id)

    posted = await erp.post_invoice((await bill("mail-0030/NWM-VAT-2")).id)
    assert (posted.tax_amount, posted.amount_to_pay) == (Decimal("24.00"), Decimal("144.00"))
    with pytest.raises(InvalidInput, match="is posted; only a draft invoice can be deleted"):
        await erp.delete_draft_invoice(posted.id)


async def test_find_purchase_order_by_the_suppliers_reference(erp: TrytonERP) -> None:
    (order,) = await erp.find_purchase_orders(number="Q-BHP-2207")

    assert order.number == "PO-00002"
    assert order.supplier == "Blue Harbor Packaging"


async def test_find_purchase_orders_by_supplier_id_or_name(
    erp: TrytonERP, tryton: RunningTryton
) -> None:
    northwind = tryton.facts.suppliers["SUP-NWM"]

    by_id = await erp.find_purchase_orders(supplier_id=northwind)
    by_name = await erp.find_purchase_orders(supplier="northwind")

    assert sorted(o.number or "" for o in by_id) == ["PO-00001", "PO-00004", "PO-00005"]
    assert [o.id for o in by_name] == [o.id for o in by_id]
    unreceived = next(o for o in by_id if o.number == "PO-00004")
    assert [line.received_quantity for line in unreceived.lines] == [0]


async def test_find_purchase_orders_reads_every_page(tryton: RunningTryton) -> None:
    async with TrytonClient(tryton.settings(page_size=1)) as client:
        with_pages = await TrytonERP(client).find_purchase_orders(supplier="a", limit=50)
    async with TrytonClient(tryton.settings()) as client:
        in_one = await TrytonERP(client).find_purchase_orders(supplier="a", limit=50)

    assert len(in_one) == 7
    assert [o.id for o in with_pages] == [o.id for o in in_one]
    assert all(o.lines for o in with_pages)


async def test_find_purchase_orders_without_criteria_is_invalid(erp: TrytonERP) -> None:
    with pytest.raises(InvalidInput, match="number, a supplier id or a supplier name"):
        await erp.find_purchase_orders()


async def test_find_supplier_by_name_or_code(erp: TrytonERP, tryton: RunningTryton) -> None:
    (by_name,) = await erp.find_suppliers("harbor")
    (by_code,) = await erp.find_suppliers("SUP-KIS")

    assert (by_name.id, by_name.name, by_name.payment_term) == (
        tryton.facts.suppliers["SUP-BHP"],
        "Blue Harbor Packaging",
        "Net 30",
    )
    assert by_code.name == "Keller Industrial Services"
    assert await erp.find_suppliers("no such supplier") == []


async def test_booking_some_lines_of_trytons_draft_moves_them_to_the_vendors_invoice(
    erp: TrytonERP,
) -> None:
    order = await _order(erp, "PO-00002")
    boxes = next(line for line in order.lines if line.product_code == "BOX-60")

    invoice = await erp.book_supplier_invoice(
        idempotency_key="mail-0001/BHP-9001",
        supplier_id=order.supplier_id,
        invoice_date=TODAY,
        reference="BHP-9001",
        description="Cartons, first delivery",
        lines=[
            InvoiceLineInput(purchase_line_id=boxes.id, quantity=600, unit_price=Decimal("1.05"))
        ],
    )

    # Tryton's draft for PO-00002 also holds the gloves: the cartons leave it for a new invoice.
    assert invoice.created and len(invoice.fitted) == 1
    assert (invoice.state, invoice.reference, invoice.supplier) == (
        "draft",
        "BHP-9001",
        "Blue Harbor Packaging",
    )
    assert invoice.idempotency_key == "mail-0001/BHP-9001"
    assert invoice.total_amount == Decimal("630.00")
    (line,) = invoice.lines
    assert (line.purchase_line_id, line.quantity, line.description) == (
        boxes.id,
        600,
        "Shipping carton 60 cm",
    )
    after = {line.id: line for line in (await _order(erp, "PO-00002")).lines}
    assert (after[boxes.id].invoiced_quantity, after[boxes.id].drafted_quantity) == (600, 0)
    gloves = next(line for line in after.values() if line.id != boxes.id)
    assert (gloves.invoiced_quantity, gloves.drafted_quantity) == (0, 20)
    (draft,) = await erp.client.search(
        "account.invoice", [("id", "=", invoice.fitted[0])], ("state", "reference", "lines")
    )
    assert (draft["state"], draft["reference"], len(draft["lines"])) == ("draft", None, 1)


async def test_booking_a_manual_order_twice_with_one_key_makes_one_invoice(
    erp: TrytonERP,
) -> None:
    first = await _bill_in_full(erp, "PO-00007", "mail-0002/BHP-5555")
    again = await _bill_in_full(erp, "PO-00007", "mail-0002/BHP-5555")

    assert first.created and not again.created and first.fitted == again.fitted == ()
    assert again.id == first.id
    matching = await erp.client.search(
        "account.invoice", [("reference", "=", "SUPP-mail-0002/BHP-5555")], ("id",)
    )
    assert [row["id"] for row in matching] == [first.id]


async def test_create_supplier_invoice_rejects_a_line_of_another_supplier(
    erp: TrytonERP, tryton: RunningTryton
) -> None:
    order = await _order(erp, "PO-00003")
    with pytest.raises(InvalidInput, match=f"purchase line {order.lines[0].id} belongs to"):
        await erp.book_supplier_invoice(
            idempotency_key="mail-0003/wrong-supplier",
            supplier_id=tryton.facts.suppliers["SUP-NWM"],
            invoice_date=TODAY,
            reference="X-1",
            lines=[InvoiceLineInput(purchase_line_id=order.lines[0].id, quantity=1, unit_price=1)],
        )


async def test_update_supplier_invoice_changes_a_draft(erp: TrytonERP) -> None:
    draft = await _bill_in_full(erp, "PO-00001", "mail-0004/NWM-1")
    bolts = next(line for line in draft.lines if line.description == "Steel bolt M8x40")

    updated = await erp.update_supplier_invoice(
        draft.id,
        reference="NWM-1-corrected",
        line_changes={bolts.id: (None, Decimal("0.26"))},
    )

    assert updated.reference == "NWM-1-corrected"
    assert next(line for line in updated.lines if line.id == bolts.id).amount == Decimal("104.00")
    assert updated.total_amount == draft.total_amount + Decimal("4.00")


async def test_post_invoice_posts_once_and_then_reports_it_posted(erp: TrytonERP) -> None:
    draft = await _bill_in_full(erp, "PO-00001", "mail-0005/NWM-2")

    posted = await erp.post_invoice(draft.id)
    again = await erp.post_invoice(draft.id)

    assert posted.state == "posted"
    assert posted.number and posted.number.startswith(f"INV/{TODAY.year}/")
    assert posted.amount_to_pay == posted.total_amount == Decimal("700.00")
    assert again == posted


async def test_pay_invoice_creates_and_submits_one_payment_per_key(erp: TrytonERP) -> None:
    invoice = await erp.post_invoice((await _bill_in_full(erp, "PO-00001", "mail-0006/NWM-3")).id)

    payment = await erp.pay_invoice(idempotency_key="pay-mail-0006", invoice_id=invoice.id)
    again = await erp.pay_invoice(idempotency_key="pay-mail-0006", invoice_id=invoice.id)

    assert payment.created and not again.created
    assert again.id == payment.id
    assert (payment.state, payment.amount, payment.invoice_id) == (
        "submitted",
        Decimal("700.00"),
        invoice.id,
    )
    assert payment.journal == "Bank transfers"
    # Paid on the due date: the seeded suppliers pay "Net 30".
    assert payment.date == invoice.invoice_date + dt.timedelta(days=30)
    payments = await erp.client.search(
        "account.payment", [("reference", "=", "pay-mail-0006")], ("id",)
    )
    assert len(payments) == 1
    with pytest.raises(InvalidInput, match="nothing left to pay"):
        await erp.pay_invoice(idempotency_key="pay-mail-0006-b", invoice_id=invoice.id)


async def test_pay_invoice_refuses_a_draft(erp: TrytonERP) -> None:
    draft = await _bill_in_full(erp, "PO-00001", "mail-0007/NWM-4")
    with pytest.raises(InvalidInput, match="state draft; only posted supplier invoices"):
        await erp.pay_invoice(idempotency_key="pay-mail-0007", invoice_id=draft.id)


async def test_vendor_ledger_shows_the_payable_line_of_a_posted_invoice(
    erp: TrytonERP, tryton: RunningTryton
) -> None:
    invoice = await erp.post_invoice((await _bill_in_full(erp, "PO-00002", "mail-0008/BHP-2")).id)

    ledger = await erp.vendor_ledger(tryton.facts.suppliers["SUP-BHP"])

    (line,) = [line for line in ledger.lines if line.origin == f"account.invoice,{invoice.id}"]
    assert (line.credit, line.debit, line.balance) == (invoice.total_amount, 0, 1180)
    assert line.maturity_date == TODAY + dt.timedelta(days=30)  # the supplier's Net 30
    assert line.amount_to_pay == invoice.total_amount
    assert not line.reconciled
    assert ledger.total_balance == sum(item.balance for item in ledger.lines)

    await erp.pay_invoice(idempotency_key="pay-mail-0008", invoice_id=invoice.id)
    (after,) = [
        item
        for item in (await erp.vendor_ledger(tryton.facts.suppliers["SUP-BHP"])).lines
        if item.id == line.id
    ]
    assert after.amount_to_pay == 0  # the submitted payment covers it


async def test_unreachable_tryton_is_a_clean_error_naming_the_url(
    tryton: RunningTryton,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with TrytonClient(tryton.settings(url=f"http://127.0.0.1:{port}/")) as client:
        with pytest.raises(ConnectorUnavailable) as caught:
            await TrytonERP(client).find_suppliers("north")

    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/demo/rest/model/party.party" in message
    assert "after 3 tries" in message and "ConnectError" in message
    assert caught.value.system == "tryton"


async def test_bad_record_id_is_a_clean_error(erp: TrytonERP) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        await erp.get_invoice(999999)

    assert caught.value.status == 404
    assert "/demo/rest/model/account.invoice/999999" in str(caught.value)
    assert "not found: no account.invoice with id 999999" in str(caught.value)


async def test_a_change_tryton_refuses_carries_trytons_message(erp: TrytonERP) -> None:
    posted = await erp.post_invoice((await _bill_in_full(erp, "PO-00004", "mail-0009/NWM-6")).id)

    with pytest.raises(ConnectorRejected) as caught:
        await erp.update_supplier_invoice(posted.id, line_changes={posted.lines[0].id: (1, None)})

    assert caught.value.status == 400
    assert f"PUT {caught.value.url}" in str(caught.value)
    # trytond 8.0 says the invoice is posted; 8.2 that the line's quantity is read-only: both
    # name the posted invoice.
    assert posted.number and posted.number in str(caught.value)
    assert "posted" in str(caught.value).lower() or "not allowed to modify" in str(caught.value)


async def test_a_wrong_api_key_is_a_clean_error(tryton: RunningTryton) -> None:
    async with TrytonClient(tryton.settings(api_key="not-a-key")) as client:
        with pytest.raises(ConnectorRejected, match=r"\(401\): 401 Unauthorized"):
            await TrytonERP(client).find_suppliers("north")


@pytest.mark.parametrize("mode", ["503", "reset"])
async def test_read_calls_are_retried_after_a_transient_failure(
    tryton: RunningTryton, mode: Any
) -> None:
    with FlakyProxy(tryton.url) as proxy:
        proxy.fail("GET", 2, mode=mode)
        async with TrytonClient(tryton.settings(url=proxy.url)) as client:
            suppliers = await TrytonERP(client).find_suppliers("keller")

    assert [s.name for s in suppliers] == ["Keller Industrial Services"]
    assert proxy.seen["GET"] == 3
    context = base64.urlsafe_b64decode(proxy.last_headers["X-Tryton-Context"])
    assert json.loads(context) == {"company": tryton.facts.company}
    assert proxy.last_headers["Authorization"] == f"bearer {tryton.facts.rest_key}"


async def test_read_calls_give_up_after_their_attempts(tryton: RunningTryton) -> None:
    with FlakyProxy(tryton.url) as proxy:
        proxy.fail("GET", 5)
        async with TrytonClient(tryton.settings(url=proxy.url, attempts=2)) as client:
            with pytest.raises(ConnectorUnavailable, match="after 2 tries: 503"):
                await TrytonERP(client).find_suppliers("keller")

    assert proxy.seen["GET"] == 2


@pytest.mark.parametrize(
    ("mode", "method", "number"),
    [
        ("503", "POST", "PO-00007"),  # manual: the invoice is created
        ("reset", "POST", "PO-00007"),
        ("503", "PUT", "PO-00003"),  # Tryton's default: its draft is fitted
        ("reset", "PUT", "PO-00006"),  # fulfillment: its draft is fitted
    ],
)
async def test_writes_are_not_retried_and_a_repeat_with_the_key_books_one_invoice(
    tryton: RunningTryton, mode: Any, method: str, number: str
) -> None:
    key = f"mail-0010/{number}-{mode}"
    with FlakyProxy(tryton.url) as proxy:
        proxy.fail(method, 1, mode=mode)
        async with TrytonClient(tryton.settings(url=proxy.url)) as client:
            erp = TrytonERP(client)
            with pytest.raises(ConnectorUnavailable, match="repeat the call with the same"):
                await _bill_in_full(erp, number, key)
            assert proxy.seen[method] == 1

            invoice = await _bill_in_full(erp, number, key)
            again = await _bill_in_full(erp, number, key)

    assert (invoice.created or invoice.fitted) and not (again.created or again.fitted)
    assert again.id == invoice.id
    assert proxy.seen[method] == 2


async def test_tools_are_marked_and_take_json_arguments(erp: TrytonERP) -> None:
    tools = {tool.name: tool for tool in tryton_tools(erp)}
    effects = {name: tool.metadata["effect"] for name, tool in tools.items() if tool.metadata}

    assert effects == {
        "tryton_find_supplier": "read",
        "tryton_find_purchase_orders": "read",
        "tryton_get_purchase_order": "read",
        "tryton_get_invoice": "read",
        "tryton_book_supplier_invoice": "write",
        "tryton_update_supplier_invoice": "write",
        "tryton_post_invoice": "write",
        "tryton_pay_invoice": "write",
        "tryton_vendor_ledger": "read",
    }
    for name, tool in tools.items():
        schema = tool.get_input_schema().model_json_schema()
        takes_key = "idempotency_key" in schema["properties"]
        assert takes_key == (name in {"tryton_book_supplier_invoice", "tryton_pay_invoice"})
        assert ("side-effect" in (tool.tags or [])) == (effects[name] == "write")

    (order,) = await tools["tryton_find_purchase_orders"].ainvoke({"number": "PO-00003"})
    assert order["total_amount"] == "816.00" and order["purchase_date"] == TODAY.isoformat()
    created = await tools["tryton_book_supplier_invoice"].ainvoke(
        {
            "idempotency_key": "tool-call-0001",
            "supplier_id": order["supplier_id"],
            "invoice_date": TODAY.isoformat(),
            "reference": "KIS-77",
            "lines": [
                {"purchase_line_id": order["lines"][0]["id"], "quantity": 12, "unit_price": "68"}
            ],
        }
    )
    # Booked onto Tryton's draft for PO-00003 (fitted), or created if a test before used it.
    assert created["total_amount"] == "816.00" and (created["created"] or created["fitted"])
    posted = await tools["tryton_post_invoice"].ainvoke({"invoice_id": created["id"]})
    paid = await tools["tryton_pay_invoice"].ainvoke(
        {"idempotency_key": "tool-pay-0001", "invoice_id": posted["id"], "amount": "300.00"}
    )
    assert (paid["state"], paid["amount"]) == ("submitted", "300.00")
    ledger = await tools["tryton_vendor_ledger"].ainvoke({"supplier_id": order["supplier_id"]})
    assert [line["amount_to_pay"] for line in ledger["lines"]] == ["516.00"]


async def test_tool_arguments_are_validated_before_any_call(erp: TrytonERP) -> None:
    tools = {tool.name: tool for tool in tryton_tools(erp)}
    with pytest.raises(ValueError, match="idempotency_key"):
        await tools["tryton_pay_invoice"].ainvoke({"idempotency_key": "short", "invoice_id": 1})


async def test_find_supplier_invoices_by_reference_ignores_case_and_cancelled(
    erp: TrytonERP,
) -> None:
    draft = await _bill_in_full(erp, "PO-00001", "mail-0010/NWM-Dup-1")
    supplier = draft.supplier_id

    found = await erp.find_supplier_invoices(supplier, reference="  supp-mail-0010/nwm-dup-1 ")
    assert [invoice.id for invoice in found] == [draft.id]
    assert await erp.find_supplier_invoices(supplier, reference="SUPP-mail-0010/NWM-Dup-%") == []

    await erp.client.action("account.invoice", "cancel", draft.id)
    assert await erp.find_supplier_invoices(supplier, reference="SUPP-mail-0010/NWM-Dup-1") == []


@pytest.mark.parametrize("attempt", range(3))
async def test_concurrent_callers_with_one_key_get_one_invoice_and_one_payment(
    tryton: RunningTryton, attempt: int
) -> None:
    async with (
        TrytonClient(tryton.settings()) as first_client,
        TrytonClient(tryton.settings()) as second_client,
    ):
        first, second = TrytonERP(first_client), TrytonERP(second_client)
        order = await _order(first, "PO-00002")
        line = order.lines[1]

        async def bill(erp: TrytonERP) -> Invoice:
            return await erp.book_supplier_invoice(
                idempotency_key=f"race-{attempt}",
                supplier_id=order.supplier_id,
                invoice_date=TODAY,
                reference=f"BHP-RACE-{attempt}",
                lines=[
                    InvoiceLineInput(
                        purchase_line_id=line.id, quantity=1, unit_price=line.unit_price
                    )
                ],
            )

        made = await asyncio.gather(*(bill(erp) for erp in (first, second, first, second)))
        assert len({invoice.id for invoice in made}) == 1
        assert (
            len(
                await first.find_supplier_invoices(
                    order.supplier_id, reference=f"BHP-RACE-{attempt}"
                )
            )
            == 1
        )

        posted = await first.post_invoice(made[0].id)
        payments = await asyncio.gather(
            *(
                erp.pay_invoice(idempotency_key=f"race-pay-{attempt}", invoice_id=posted.id)
                for erp in (first, second, first, second)
            )
        )
        assert len({payment.id for payment in payments}) == 1
        rows = await first.client.search(
            "account.payment", [("reference", "=", f"race-pay-{attempt}")], ("state",)
        )
        assert [row["state"] for row in rows] == ["submitted"]


async def test_the_service_user_submits_payments_but_may_not_approve_them(erp: TrytonERP) -> None:
    invoice = await erp.post_invoice((await _bill_in_full(erp, "PO-00002", "mail-0020/BHP")).id)
    payment = await erp.pay_invoice(idempotency_key="pay-mail-0020", invoice_id=invoice.id)
    assert payment.state == "submitted"

    with pytest.raises(ConnectorRejected) as refused:
        await erp.client.action("account.payment", "approve", payment.id)
    assert "account.payment" in str(refused.value)
    user = await erp.client.search("res.user", [("login", "=", "agent-ops")], ("login",))
    assert [row["login"] for row in user] == ["agent-ops"]


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://erp.example:8000/mydb/", "http://erp.example:8000/"),
        ("http://erp.example:8000/mydb", "http://erp.example:8000/"),
        ("http://erp.example:8000/mydb/rest/", "http://erp.example:8000/"),
        ("http://erp.example:8000/#mydb/model/purchase.purchase", "http://erp.example:8000/"),
        ("https://erp.example/tryton/mydb/rest/", "https://erp.example/tryton/"),
    ],
)
def test_the_url_a_user_copies_from_tryton_carries_the_database(url: str, root: str) -> None:
    alone = TrytonSettings.model_validate({"url": url, "api_key": "k"})
    agreeing = TrytonSettings.model_validate({"url": url, "database": "mydb", "api_key": "k"})

    assert (str(alone.url), alone.database) == (root, "mydb")
    assert agreeing == alone
    assert TrytonClient(alone).base_url == f"{root}mydb/rest/"


def test_a_url_naming_another_database_than_the_setting_is_an_error_naming_both() -> None:
    with pytest.raises(ValueError, match="names database 'mydb' but `database` is 'prod'"):
        TrytonSettings.model_validate(
            {"url": "http://erp.example:8000/mydb/rest/", "database": "prod", "api_key": "k"}
        )
    with pytest.raises(ValueError, match="database\n  Field required"):
        TrytonSettings.model_validate({"url": "http://erp.example:8000/", "api_key": "k"})


async def test_the_rest_url_alone_reaches_the_demo(tryton: RunningTryton) -> None:
    settings = TrytonSettings.model_validate(
        {"url": f"{tryton.url}demo/rest/", "api_key": tryton.facts.rest_key}
    )
    async with TrytonClient(settings) as client:
        (found,) = await TrytonERP(client).find_suppliers("keller")
    assert found.name == "Keller Industrial Services"


async def test_with_several_payment_journals_the_setting_chooses_and_without_it_pay_fails_naming_it(
    tryton_demo_dir: Path, tmp_path: Path
) -> None:
    facts = copy_demo(tryton_demo_dir, tmp_path)
    second = add_payment_journal(tmp_path, "Second bank")
    with DemoServer(tmp_path) as server:
        running = RunningTryton(server.url, facts)
        async with TrytonClient(running.settings()) as client:
            erp = TrytonERP(client)
            invoices = [
                await erp.post_invoice((await _bill_in_full(erp, "PO-00007", f"journal-{i}")).id)
                for i in range(3)
            ]
            with pytest.raises(ConfigError) as unset:
                await erp.pay_invoice(idempotency_key="pay-journal-0", invoice_id=invoices[0].id)
        for chosen, invoice in (("second bank", invoices[1]), (second, invoices[2])):
            async with TrytonClient(running.settings(payment_journal=chosen)) as client:
                payment = await TrytonERP(client).pay_invoice(
                    idempotency_key=f"pay-journal-{invoice.id}", invoice_id=invoice.id
                )
            assert (payment.journal, payment.state) == ("Second bank", "submitted")
        async with TrytonClient(running.settings(payment_journal="Petty cash")) as client:
            with pytest.raises(ConfigError) as unknown:
                await TrytonERP(client).pay_invoice(
                    idempotency_key="pay-journal-x", invoice_id=invoices[0].id
                )

    candidates = f"{facts.payment_journal} (Bank transfers), {second} (Second bank)"
    assert str(unset.value) == (
        f"company {facts.company} in EUR has 2 payment journals, {candidates}: set "
        "payment_journal (a name or an id) in the connectors config's tryton section to choose one"
    )
    assert str(unknown.value) == (
        "the Tryton setting payment_journal='Petty cash' names none of the payment journals of "
        f"company {facts.company} in EUR: {candidates}"
    )
