"""One payment per invoice and one post, whatever writers of one invoice race or die, against a
real trytond: the windows a crash leaves are made deterministic by doing, through the same REST
API, what a writer killed at that point leaves behind."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from tests.tryton_fixtures import RunningTryton
from tools.tryton import Invoice, InvoiceLineInput, TrytonClient, TrytonERP

TODAY = dt.date.today()


async def _posted(erp: TrytonERP, number: str, key: str) -> Invoice:
    """A posted supplier invoice billing every line of purchase order `number`."""
    (order,) = await erp.find_purchase_orders(number=number)
    draft = await erp.book_supplier_invoice(
        idempotency_key=key,
        supplier_id=order.supplier_id,
        invoice_date=TODAY,
        reference=f"SUPP-{key}",
        lines=[
            InvoiceLineInput(purchase_line_id=line.id, quantity=1, unit_price=line.unit_price)
            for line in order.lines
        ],
    )
    return await erp.post_invoice(draft.id)


async def _dead_writers_payment(erp: TrytonERP, invoice: Invoice, key: str) -> int:
    """What a writer killed after its create committed leaves: a draft payment with the key."""
    (line,) = await erp.client.search(
        "account.move.line",
        [
            ("move_origin", "=", f"account.invoice,{invoice.id}"),
            ("account.type.payable", "=", True),
        ],
        ("maturity_date", "party"),
    )
    journals = await erp.client.search("account.payment.journal", [], ("id",), limit=1)
    row = await erp.client.create(
        "account.payment",
        {
            "company": (await erp.client.read("account.invoice", invoice.id, ("company",)))[
                "company"
            ],
            "kind": "payable",
            "party": line["party"],
            "journal": journals[0]["id"],
            "line": line["id"],
            "amount": invoice.total_amount,  # read before any payment, as its writer did
            "date": line["maturity_date"],
            "reference": key,
        },
        ("id",),
    )
    return int(row["id"])


async def _payments(erp: TrytonERP, invoice: Invoice) -> list[dict[str, Any]]:
    return await erp.client.search(
        "account.payment",
        [("line.move_origin", "=", f"account.invoice,{invoice.id}")],
        ("state", "reference"),
        order=[("id", "ASC")],
    )


async def test_a_payment_left_by_a_killed_writer_is_adopted_not_made_again(
    erp: TrytonERP,
) -> None:
    invoice = await _posted(erp, "PO-00001", "race-adopt")
    left = await _dead_writers_payment(erp, invoice, "pay-race-adopt")

    payment = await erp.pay_invoice(idempotency_key="pay-race-adopt", invoice_id=invoice.id)

    assert (payment.id, payment.state, payment.created) == (left, "submitted", False)
    assert [(row["id"], row["state"]) for row in await _payments(erp, invoice)] == [
        (left, "submitted")
    ]


async def test_a_create_landing_after_the_payment_was_made_is_deleted_by_the_next_pay(
    erp: TrytonERP,
) -> None:
    """A killed writer's create that Tryton commits after its successor paid: a draft beside a
    submitted payment. The submitted one is kept whatever the ids, the late draft deleted."""
    invoice = await _posted(erp, "PO-00002", "race-late")
    paid = await erp.pay_invoice(idempotency_key="pay-race-late", invoice_id=invoice.id)
    late = await _dead_writers_payment(erp, invoice, "pay-race-late")
    assert late > paid.id

    again = await erp.pay_invoice(idempotency_key="pay-race-late", invoice_id=invoice.id)

    assert (again.id, again.state, again.created) == (paid.id, "submitted", False)
    assert [row["id"] for row in await _payments(erp, invoice)] == [paid.id]


async def test_a_resumed_writer_waits_for_a_create_still_in_flight_instead_of_paying_twice(
    erp: TrytonERP,
) -> None:
    """The window that made invoices paid twice in the chaos test: the predecessor's create is
    sent, its process dies, the create lands in Tryton only after the successor looked."""
    invoice = await _posted(erp, "PO-00003", "race-flight")
    sent = dt.datetime.now(dt.UTC)

    async def landing() -> int:
        await asyncio.sleep(1.0)
        return await _dead_writers_payment(erp, invoice, "pay-race-flight")

    landed, payment = await asyncio.gather(
        landing(),
        erp.pay_invoice(
            idempotency_key="pay-race-flight", invoice_id=invoice.id, in_flight_since=sent
        ),
    )

    assert (payment.id, payment.state, payment.created) == (landed, "submitted", False)
    assert [row["id"] for row in await _payments(erp, invoice)] == [landed]


async def test_a_writer_told_of_no_create_in_flight_records_its_own_before_sending(
    erp: TrytonERP,
) -> None:
    invoice = await _posted(erp, "PO-00004", "race-record")
    seen: list[int] = []

    async def before_create() -> None:
        seen.append(len(await _payments(erp, invoice)))

    payment = await erp.pay_invoice(
        idempotency_key="pay-race-record", invoice_id=invoice.id, before_create=before_create
    )

    assert seen == [0]
    assert payment.created and payment.state == "submitted"


async def test_concurrent_pays_of_one_invoice_with_a_killed_writers_draft_leave_one_payment(
    tryton: RunningTryton,
) -> None:
    async with (
        TrytonClient(tryton.settings()) as one,
        TrytonClient(tryton.settings()) as two,
    ):
        first, second = TrytonERP(one), TrytonERP(two)
        invoice = await _posted(first, "PO-00005", "race-many")

        made = await asyncio.gather(
            first.pay_invoice(idempotency_key="pay-race-many", invoice_id=invoice.id),
            _dead_writers_payment(second, invoice, "pay-race-many"),
            second.pay_invoice(idempotency_key="pay-race-many", invoice_id=invoice.id),
            first.pay_invoice(idempotency_key="pay-race-many", invoice_id=invoice.id),
        )
        final = await first.pay_invoice(idempotency_key="pay-race-many", invoice_id=invoice.id)

        ids = {made[0].id, made[2].id, made[3].id, final.id}
        assert len(ids) == 1
        assert [(row["id"], row["state"]) for row in await _payments(first, invoice)] == [
            (final.id, "submitted")
        ]


async def test_concurrent_posts_of_one_invoice_both_report_it_posted(
    tryton: RunningTryton,
) -> None:
    async with (
        TrytonClient(tryton.settings()) as one,
        TrytonClient(tryton.settings()) as two,
    ):
        first, second = TrytonERP(one), TrytonERP(two)
        (order,) = await first.find_purchase_orders(number="PO-00001")
        draft = await first.book_supplier_invoice(
            idempotency_key="race-post",
            supplier_id=order.supplier_id,
            invoice_date=TODAY,
            reference="SUPP-race-post",
            lines=[
                InvoiceLineInput(
                    purchase_line_id=order.lines[0].id,
                    quantity=1,
                    unit_price=order.lines[0].unit_price,
                )
            ],
        )

        posted = await asyncio.gather(
            *(erp.post_invoice(draft.id) for erp in (first, second, first, second))
        )

        assert {(invoice.state, invoice.number) for invoice in posted} == {
            ("posted", posted[0].number)
        }
