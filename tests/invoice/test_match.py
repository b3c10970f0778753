"""The matching rules on their own: each finding, its tolerance, and a clean match."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from graphs.invoice import MatchReport, Policy, assess
from graphs.invoice._match import booked_totals, pair_lines, same_vendor
from tests.invoice.samples import invoice
from tools.documents import Invoice
from tools.tryton import Invoice as ErpInvoice
from tools.tryton import PurchaseLine, PurchaseOrder, Supplier

SUPPLIER = Supplier(
    id=7, name="Northwind Metals", code="SUP-NWM", tax_identifier=None, payment_term=None
)


def _line(
    id_: int,
    code: str,
    text: str,
    qty: float,
    price: str,
    received: float,
    billed: float = 0,
    rate: str | None = "0",
) -> PurchaseLine:
    return PurchaseLine(
        id=id_,
        purchase_id=1,
        product_code=code,
        description=text,
        unit="u",
        quantity=qty,
        unit_price=Decimal(price),
        amount=Decimal(price) * Decimal(str(qty)),
        tax_rate=None if rate is None else Decimal(rate),
        received_quantity=received,
        invoiced_quantity=billed,
    )


def _order(
    *lines: PurchaseLine, state: str = "processing", tax: str | None = None, currency: str = "EUR"
) -> PurchaseOrder:
    """An order of `lines`, each taxed at `tax` if given (the order's tax as Tryton sums it;
    a line whose rate is unknown counts as untaxed here)."""
    if tax is not None:
        lines = tuple(line.model_copy(update={"tax_rate": Decimal(tax)}) for line in lines)
    untaxed = sum((line.amount for line in lines), Decimal(0))
    taxes = sum((line.amount * (line.tax_rate or 0) for line in lines), Decimal(0))
    return PurchaseOrder(
        id=1,
        number="PO-00001",
        reference="Q-1",
        supplier_id=7,
        supplier="Northwind Metals",
        purchase_date=dt.date.today(),
        state=state,
        invoice_state="none",
        shipment_state="partially",
        currency=currency,
        untaxed_amount=untaxed,
        tax_amount=taxes,
        total_amount=untaxed + taxes,
        lines=list(lines),
    )


ORDER = _order(
    _line(11, "BOLT-M8", "Steel bolt M8x40", 400, "0.25", 400),
    _line(12, "WIRE-CU25", "Copper wire 2.5 mm²", 500, "1.20", 300),
)


def _report(inv: dict, order: PurchaseOrder | None = ORDER, **kw: object) -> MatchReport:
    return assess(
        Invoice.model_validate(inv),
        order=order,
        supplier=kw.pop("supplier", SUPPLIER),  # type: ignore[arg-type]
        duplicates=kw.pop("duplicates", []),  # type: ignore[arg-type]
        confidence=kw.pop("confidence", {}),  # type: ignore[arg-type]
        problems=[],
        policy=kw.pop("policy", Policy()),  # type: ignore[arg-type]
    )


def _assess(inv: dict, order: PurchaseOrder | None = ORDER, **kw: object) -> list[str]:
    return [f"{f.code}:{f.field}" for f in _report(inv, order, **kw).findings]


def _erp_invoice(**values: object) -> ErpInvoice:
    """An invoice as the ERP returns it, posted, for 1.00 unless `values` say otherwise."""
    defaults: dict[str, object] = {
        "id": 3,
        "number": "INV/1",
        "reference": "N-10",
        "supplier_id": 7,
        "supplier": "Northwind Metals",
        "invoice_date": dt.date.today(),
        "state": "posted",
        "currency": "EUR",
        "untaxed_amount": Decimal(1),
        "tax_amount": Decimal(0),
        "total_amount": Decimal(1),
        "amount_to_pay": Decimal(1),
        "idempotency_key": None,
        "lines": [],
    }
    return ErpInvoice.model_validate(defaults | values)


def test_a_clean_two_line_invoice_matches_with_no_findings() -> None:
    inv = invoice(
        "N-1", "PO-00001", [("BOLT-M8", "bolts", 400, "0.25"), ("WIRE-CU25", "wire", 300, "1.20")]
    )
    report = _report(inv)
    assert report.clean
    assert [(m.index, m.purchase_line_id) for m in report.lines] == [(0, 11), (1, 12)]


def test_price_within_tolerance_passes_and_beyond_it_is_named() -> None:
    assert _assess(invoice("N-2", "PO-00001", [("BOLT-M8", "b", 400, "0.255")])) == []  # +2.0%
    assert _assess(invoice("N-3", "PO-00001", [("BOLT-M8", "b", 400, "0.26")])) == [
        "price_mismatch:lines[0].unit_price"
    ]
    strict = Policy(price_tolerance_pct=Decimal("0"))
    assert _assess(invoice("N-4", "PO-00001", [("BOLT-M8", "b", 400, "0.255")]), policy=strict) == [
        "price_mismatch:lines[0].unit_price"
    ]


def test_three_way_match_bills_no_more_than_received_unless_the_policy_says_two_way() -> None:
    over = invoice("N-5", "PO-00001", [("WIRE-CU25", "wire", 400, "1.20")])  # 300 received
    assert _assess(over) == ["qty_over_received:lines[0].quantity"]
    assert _assess(over, policy=Policy(require_receipt=False)) == []
    assert _assess(invoice("N-6", "PO-00001", [("WIRE-CU25", "wire", 600, "1.20")])) == [
        "qty_over_ordered:lines[0].quantity"
    ]


def test_already_invoiced_quantity_counts_against_what_is_left() -> None:
    order = _order(_line(11, "BOLT-M8", "Steel bolt M8x40", 400, "0.25", 400, billed=300))
    assert _assess(invoice("N-7", "PO-00001", [("BOLT-M8", "b", 150, "0.25")]), order) == [
        "qty_over_ordered:lines[0].quantity"
    ]


def test_lines_pair_by_code_then_description_then_the_last_one_left() -> None:
    inv = Invoice.model_validate(
        invoice(
            "N-8", "PO-00001", [("", "copper wire 2.5", 10, "1.20"), ("", "screws", 10, "0.25")]
        )
    )
    pairs, unpaired = pair_lines(inv.lines, ORDER.lines)
    assert {i: p.id for i, p in pairs.items()} == {0: 12, 1: 11} and unpaired == []
    extra = invoice(
        "N-9",
        "PO-00001",
        [("BOLT-M8", "b", 10, "0.25"), ("WIRE-CU25", "w", 1, "1.2"), ("X", "freight", 1, "9")],
    )
    assert _assess(extra) == ["line_unmatched:lines[2]"]


def test_unknown_po_closed_po_currency_vendor_and_duplicate_are_each_named() -> None:
    inv = invoice("N-10", "PO-00001", [("BOLT-M8", "b", 10, "0.25")])
    assert _assess(inv, order=None) == ["po_unknown:po_number"]
    assert _assess({**inv, "po_number": None}, order=None) == ["po_missing:po_number"]
    assert _assess(inv, _order(*ORDER.lines, state="done")) == ["po_closed:po_number"]
    assert _assess(inv, _order(*ORDER.lines, currency="USD")) == ["currency_mismatch:currency"]
    assert _assess({**inv, "vendor_name": "Southwind Plastics"}) == ["vendor_mismatch:vendor_name"]
    assert _assess(inv, supplier=None) == ["supplier_unknown:vendor_name"]
    booked = _erp_invoice()
    assert _assess(inv, duplicates=[booked]) == ["duplicate:invoice_number"]


def test_arithmetic_tax_limit_and_confidence() -> None:
    inv = invoice("N-11", "PO-00001", [("BOLT-M8", "b", 400, "0.25")])
    assert _assess({**inv, "total": "101.00"}) == ["arithmetic:total"]
    bad_line = {**inv, "lines": [{**inv["lines"][0], "amount": "90.00"}]}
    assert _assess(bad_line) == ["arithmetic:lines[0].amount", "arithmetic:subtotal"]
    taxed = _order(*ORDER.lines, tax="0.2")
    assert (
        _assess(invoice("N-12", "PO-00001", [("BOLT-M8", "b", 400, "0.25")], tax="20.00"), taxed)
        == []
    )
    assert _assess(inv, taxed) == ["tax_mismatch:tax"]
    assert _assess(inv, policy=Policy(auto_approve_limit=Decimal("50"))) == ["over_limit:total"]
    assert _assess(inv, confidence={"total": 0.5, "vendor_name": 0.99}) == ["low_confidence:total"]


def test_tax_is_reckoned_at_each_billed_order_lines_rate() -> None:
    drills = _line(13, "DRILL-HSS", "HSS drill bit set", 40, "24.00", 40, rate="0.20")
    mixed = _order(*ORDER.lines, drills)  # bolts and wire untaxed, drills at 20 %
    billed = [("BOLT-M8", "b", 400, "0.25"), ("DRILL-HSS", "d", 10, "24.00")]
    assert _assess(invoice("N-14", "PO-00001", billed, tax="48.00"), mixed) == []
    # The order's overall rate (192.00 on 1660.00) would have asked 39.33 of these 340.00.
    assert (mixed.tax_amount * 340 / mixed.untaxed_amount).quantize(Decimal("0.01")) == Decimal(
        "39.33"
    )

    report = _report(invoice("N-15", "PO-00001", billed, tax="45.60"), mixed)  # 19 %
    (finding,) = report.findings
    assert (finding.code, finding.message) == (
        "tax_mismatch",
        "tax 45.60 on the invoice, 48.00 at the order lines' rates (0% on 100.00, 20% on 240.00)",
    )


def test_a_line_taxed_beyond_a_percentage_falls_back_to_the_orders_rate() -> None:
    compound = _line(13, "DRILL-HSS", "HSS drill bit set", 40, "24.00", 40, rate=None)
    order = _order(*ORDER.lines, compound)
    inv = invoice("N-16", "PO-00001", [("DRILL-HSS", "d", 10, "24.00")], tax="48.00")
    assert _assess(inv, order) == ["tax_mismatch:tax"]  # the order's rate here: 0 %


def test_the_erps_booked_tax_and_total_must_be_the_documents_to_the_tolerance() -> None:
    document = Invoice.model_validate(
        invoice("N-17", "PO-00001", [("DRILL-HSS", "d", 10, "24.00")], tax="48.00")
    )

    def booked(tax: str) -> ErpInvoice:
        return _erp_invoice(
            state="draft",
            untaxed_amount=Decimal("240.00"),
            tax_amount=Decimal(tax),
            total_amount=Decimal("240.00") + Decimal(tax),
        )

    assert booked_totals(document, booked("48.02"), Decimal("0.02")) is None
    finding = booked_totals(document, booked("48.03"), Decimal("0.02"))
    assert finding is not None and (finding.code, finding.message) == (
        "booking_mismatch",
        "the ERP computes tax 48.03 and total 288.03 for the booked lines, the invoice states "
        "tax 48.00 and total 288.00",
    )


def test_vendor_names_agree_without_legal_forms_and_case() -> None:
    assert same_vendor("NORTHWIND METALS LTD.", "Northwind Metals")
    assert same_vendor("Keller Industrial Services GmbH", "Keller Industrial Services")
    assert not same_vendor("Northwind Plastics", "Northwind Metals")
    assert not same_vendor("Ltd", "Northwind Metals")


def test_line_and_document_allowances_and_charges() -> None:
    inv = invoice("N-13", "PO-00001", [("BOLT-M8", "b", 400, "0.26")])
    line = {**inv["lines"][0], "allowances": "4.00", "amount": "100.00"}  # 104 - 4: 0.25 net
    discounted = {**inv, "lines": [line], "subtotal": "100.00", "total": "100.00"}
    assert _assess(discounted) == []
    assert _assess({**discounted, "lines": [{**line, "amount": "104.00"}]})[0] == (
        "arithmetic:lines[0].amount"
    )
    adjusted = {**discounted, "charges": "5.00", "total": "105.00"}
    assert _assess(adjusted) == ["adjustment:allowances,charges,prepaid"]
    assert _assess({**discounted, "charges": "5.00"}) == [
        "arithmetic:total",
        "adjustment:allowances,charges,prepaid",
    ]
