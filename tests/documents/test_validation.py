"""The checks every reading goes through: each problem names its field, and confidence drops
on the fields that fail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tools.documents import Checks, Extraction, Invoice, InvoiceLine, needs_review, validate

GOOD = Invoice(
    vendor_name="Northwind Traders Ltd",
    vendor_tax_id="GB123456789",
    invoice_number="INV-7",
    issue_date=dt.date(2026, 3, 2),
    due_date=dt.date(2026, 4, 1),
    currency="GBP",
    po_number="PO-12345",
    lines=[
        InvoiceLine(
            description="Hex bolts M8",
            quantity=Decimal(10),
            unit_price=Decimal("1.50"),
            amount=Decimal("15.00"),
        ),
        InvoiceLine(
            description="Washers",
            quantity=Decimal(3),
            unit_price=Decimal("0.333"),
            amount=Decimal("1.00"),
        ),
    ],
    subtotal=Decimal("16.00"),
    tax=Decimal("3.20"),
    total=Decimal("19.20"),
)
TODAY = Checks(today=dt.date(2026, 3, 10))


def check(
    invoice: Invoice, method: str = "layout", text: str | None = None, checks: Checks = TODAY
) -> Extraction:
    return validate(
        Extraction(invoice=invoice, method=method, source="test"), checks=checks, text=text
    )  # type: ignore[arg-type]


def test_a_consistent_invoice_has_no_problems_and_passes() -> None:
    checked = check(GOOD)
    assert checked.problems == [] and not needs_review(checked)
    assert checked.confidence["total"] == 0.9 and "allowances" in checked.confidence


def test_line_arithmetic_names_the_line_and_lowers_only_the_lines() -> None:
    line = GOOD.lines[0].model_copy(update={"amount": Decimal("16.00")})
    checked = check(
        GOOD.model_copy(
            update={
                "lines": [line, GOOD.lines[1]],
                "subtotal": Decimal("17.00"),
                "total": Decimal("20.20"),
            }
        )
    )

    assert checked.problems == ["lines[1].amount: 16.00 but quantity 10 x unit price 1.50 = 15.00"]
    assert checked.confidence["lines"] == 0.225 and checked.confidence["total"] == 0.9
    assert needs_review(checked)


def test_subtotal_and_total_are_checked_to_the_tolerance() -> None:
    off_by_a_cent = check(GOOD.model_copy(update={"total": Decimal("19.21")}))
    off_by_more = check(
        GOOD.model_copy(update={"subtotal": Decimal("16.50"), "total": Decimal("19.70")})
    )
    lenient = check(
        GOOD.model_copy(update={"total": Decimal("19.25")}),
        checks=Checks(today=dt.date(2026, 3, 10), tolerance=Decimal("0.05")),
    )

    assert off_by_a_cent.problems == []
    assert off_by_more.problems == ["subtotal: 16.50 but the lines add up to 16.00"]
    assert lenient.problems == []


def test_document_allowances_and_charges_enter_the_total() -> None:
    adjusted = GOOD.model_copy(
        update={"allowances": Decimal(2), "charges": Decimal(1), "total": Decimal("18.20")}
    )
    assert check(adjusted).problems == []
    assert check(adjusted.model_copy(update={"total": Decimal("19.20")})).problems == [
        "total: 19.20 but subtotal 16.00 - allowances 2 + charges 1 + tax 3.20 = 18.20"
    ]


def test_dates_must_be_sane() -> None:
    future = check(GOOD.model_copy(update={"issue_date": dt.date(2027, 1, 1), "due_date": None}))
    due_before = check(GOOD.model_copy(update={"due_date": dt.date(2026, 2, 1)}))

    assert future.problems == ["issue_date: 2027-01-01 is outside 2000-01-01 .. 2026-04-10"]
    assert due_before.problems[0].startswith("due_date: 2026-02-01 is not between the issue date")


def test_currency_must_be_an_iso_code() -> None:
    checked = check(GOOD.model_copy(update={"currency": "XYZ"}))
    assert checked.problems == ["currency: 'XYZ' is not an ISO 4217 currency code"]
    assert checked.confidence["currency"] < 0.3


def test_a_model_reading_is_trusted_only_where_the_document_says_so() -> None:
    text = (
        "Northwind Traders Ltd, VAT GB123456789. Invoice INV-7 of March 2, 2026, due 01/04/2026, "
        "your PO-12345. 10 x Hex bolts M8 at 1.50 = 15.00; 3 x Washers at 0.333 = 1.00. "
        "Net 16.00 GBP, tax 3.20, total 19.20."
    )
    grounded = check(GOOD, method="model", text=text)
    invented = check(
        GOOD.model_copy(update={"invoice_number": "INV-8", "total": Decimal("19.20")}),
        method="model",
        text=text,
    )

    assert grounded.problems == [] and not needs_review(grounded)
    assert grounded.confidence["total"] == 0.85
    assert invented.problems == ["invoice_number: 'INV-8' is not written in the document"]
    assert needs_review(invented)


def test_a_model_reading_without_the_text_stays_below_the_bar() -> None:
    checked = check(GOOD, method="model")
    assert checked.problems == [] and checked.confidence["total"] == 0.5
    assert needs_review(checked) and not needs_review(checked, min_confidence=0.5)


def test_nothing_read_needs_review() -> None:
    empty = Extraction(invoice=None, method="none", source="none", problems=["document: x"])
    assert validate(empty).confidence == {} and needs_review(empty)
