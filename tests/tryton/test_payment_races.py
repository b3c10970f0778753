"""One supplier invoice per vendor invoice, one post and one payment, whatever writers of one
invoice race or die, against a real trytond: the windows a crash leaves are made deterministic
by doing, through the same REST API, what a writer killed at that point leaves behind."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

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


@pytest.fixture
async def writers(tryton: RunningTryton) -> AsyncIterator[tuple[TrytonERP, TrytonERP]]:
    """Two connections to the one Tryton, as two worker processes each hold their own."""
    async with TrytonClient(tryton.settings()) as one, TrytonClient(tryton.settings()) as two:
        yield TrytonERP(one), TrytonERP(two)


async def test_concurrent_pays_of_one_invoice_with_a_killed_writers_draft_leave_one_payment(
    writers: tuple[TrytonERP, TrytonERP],
) -> None:
    first, second = writers
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
    writers: tuple[TrytonERP, TrytonERP],
) -> None:
    first, second = writers
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

    assert {(invoice.state, invoice.number) for invoice in posted} == {("posted", posted[0].number)}


# -- bookings: one supplier invoice per key ----------------------------------------------------

_HEADER = ("company", "currency", "party", "invoice_address", "account", "payment_term", "journal")


async def _order_line(erp: TrytonERP, number: str) -> tuple[int, InvoiceLineInput]:
    (order,) = await erp.find_purchase_orders(number=number)
    line = order.lines[0]
    return order.supplier_id, InvoiceLineInput(
        purchase_line_id=line.id, quantity=1, unit_price=line.unit_price
    )


async def _dead_writers_invoice(erp: TrytonERP, like: Invoice, key: str) -> int:
    """What a booking killed after its create committed leaves: the empty invoice its first
    create makes (lines are moved onto it only once it is the one kept), carrying the key."""
    header = await erp.client.read("account.invoice", like.id, _HEADER)
    values = {name: header[name] for name in _HEADER if header.get(name) is not None}
    row = await erp.client.create(
        "account.invoice",
        {
            **values,
            "type": "in",
            "invoice_date": TODAY,
            "reference": like.reference,
            "comment": f"booked by a process that died\n\nagent-ops idempotency key: {key}",
        },
        ("id",),
    )
    return int(row["id"])


async def _carrying(erp: TrytonERP, key: str) -> list[tuple[int, str]]:
    rows = await erp.client.search(
        "account.invoice",
        [("type", "=", "in"), ("comment", "like", f"%idempotency key: {key}")],
        ("state",),
        order=[("id", "ASC")],
    )
    return [(row["id"], row["state"]) for row in rows]


async def _book(
    erp: TrytonERP, supplier: int, line: InvoiceLineInput, key: str, **kwargs: Any
) -> Invoice:
    return await erp.book_supplier_invoice(
        idempotency_key=key,
        supplier_id=supplier,
        invoice_date=TODAY,
        reference=f"SUPP-{key}",
        lines=[line],
        **kwargs,
    )


async def test_a_booking_landing_after_the_invoice_was_posted_is_deleted_not_posted_beside_it(
    erp: TrytonERP,
) -> None:
    """The chaos test's double booking: a dead process's create lands after its successor
    booked and posted; the posted invoice is the one kept, whatever the ids."""
    supplier, line = await _order_line(erp, "PO-00006")
    booked = await _book(erp, supplier, line, "book-late")
    posted = await erp.post_invoice(booked.id, idempotency_key="book-late")
    late = await _dead_writers_invoice(erp, posted, "book-late")
    assert late > posted.id

    again = await _book(erp, supplier, line, "book-late")
    reposted = await erp.post_invoice(late, idempotency_key="book-late")

    assert (again.id, again.state) == (posted.id, "posted")
    assert (reposted.id, reposted.number) == (posted.id, posted.number)
    assert await _carrying(erp, "book-late") == [(posted.id, "posted")]


async def test_a_post_of_a_booking_that_lost_to_a_concurrent_one_posts_the_survivor(
    erp: TrytonERP,
) -> None:
    supplier, line = await _order_line(erp, "PO-00003")
    kept = await _book(erp, supplier, line, "book-lost")
    lost = await _dead_writers_invoice(erp, kept, "book-lost")

    posted = await erp.post_invoice(lost, idempotency_key="book-lost")

    assert (posted.id, posted.state) == (kept.id, "posted")
    assert await _carrying(erp, "book-lost") == [(kept.id, "posted")]


async def test_a_resumed_booking_waits_for_a_create_still_in_flight_instead_of_booking_twice(
    tryton: RunningTryton,
) -> None:
    """The predecessor's create is sent, its process dies, the create lands in Tryton only
    after the successor would have looked: the successor fills that invoice, makes none."""
    async with TrytonClient(tryton.settings().model_copy(update={"timeout": 1.0})) as client:
        erp = TrytonERP(client)
        supplier, line = await _order_line(erp, "PO-00005")
        model = await _book(erp, supplier, line, "book-flight-model")
        sent = dt.datetime.now(dt.UTC)

        async def landing() -> int:
            await asyncio.sleep(1.5)
            return await _dead_writers_invoice(erp, model, "book-flight")

        writes: list[int] = []

        async def before_write() -> None:
            writes.append(1)

        landed, booked = await asyncio.gather(
            landing(),
            _book(
                erp,
                supplier,
                line,
                "book-flight",
                in_flight_since=sent,
                before_write=before_write,
            ),
        )

        assert booked.id == landed and not booked.created
        assert [(ln.purchase_line_id, ln.quantity) for ln in booked.lines] == [
            (line.purchase_line_id, 1)
        ]
        assert await _carrying(erp, "book-flight") == [(landed, "draft")]
        assert writes  # the fill was recorded before it was sent
