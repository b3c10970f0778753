"""The deterministic readers on the public EN 16931 samples: every value exactly as the XML says
(the samples annotate each element with its business term), schema-valid, and not for review."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from tests.documents.conftest import FACTURX, load
from tools.documents import (
    Document,
    Extraction,
    Invoice,
    InvoiceLine,
    extract_invoice,
    render_labelled,
    text_pdf,
    to_ubl,
)

EXPECTED = json.loads((FACTURX / "expected.json").read_text(encoding="utf-8"))


async def _read(name: str) -> Extraction:
    """The sample `name` read by the deterministic readers alone (no model)."""
    return await extract_invoice(load(name), use_model=False)


def _totals(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    return invoice.subtotal, invoice.tax, invoice.total


async def test_ubl_en16931_sample_is_read_field_by_field() -> None:
    extraction = await _read("ubl-21-en16931.xml")

    assert (extraction.method, extraction.source, extraction.problems) == ("ubl", "ubl-2.1", [])
    assert not extraction.review
    assert extraction.invoice == Invoice(
        vendor_name="Au bon moulin",  # BT-27 RegistrationName, not the trading name
        vendor_tax_id="FR11999999998",  # BT-31, the VAT scheme's CompanyID
        invoice_number="F124212",
        issue_date=dt.date(2026, 6, 17),
        due_date=dt.date(2026, 7, 16),
        currency="EUR",
        po_number="PO1242",
        lines=[
            InvoiceLine(
                description="Huile d'olive Joio 50cl",
                product_code="JOIO50CL",
                quantity=Decimal(10),
                unit_price=Decimal("13.50"),
                amount=Decimal("135.00"),
                allowances=Decimal("1.50"),
                charges=Decimal("1.50"),
            ),
            InvoiceLine(
                description="Nougats en cubes",
                product_code="NOUGATCUBES",
                quantity=Decimal(20),
                unit_price=Decimal("6.90"),
                amount=Decimal("138.00"),
            ),
        ],
        subtotal=Decimal("273.00"),
        allowances=Decimal("5.50"),
        charges=Decimal("5.50"),
        tax=Decimal("35.03"),
        total=Decimal("308.03"),
        prepaid=Decimal("100.00"),
    )
    assert extraction.invoice.amount_due == Decimal("208.03")  # BT-115 PayableAmount
    assert min(extraction.confidence.values()) == 0.99


async def test_factur_x_en16931_sample_is_read_with_line_and_document_adjustments() -> None:
    extraction = await _read("factur-x-en16931.xml")

    invoice = extraction.invoice
    assert invoice is not None and extraction.method == "cii" and not extraction.review
    assert (invoice.vendor_name, invoice.vendor_tax_id) == ("LE FOURNISSEUR", "FR11123456782")
    assert (invoice.invoice_number, invoice.po_number) == ("F20260023", "PO201925478")
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2026, 1, 31), dt.date(2026, 3, 2))
    assert [(x.description, x.quantity, x.unit_price, x.amount) for x in invoice.lines] == [
        ("PRESTATION SUPPORT", 1, 60, Decimal("60.00")),
        ("FOURNITURES PAPIER", 3, 10, Decimal("28.00")),  # 30 - 5 allowances + 3 charges
        ("APPEL", 1, 7, Decimal("7.00")),
    ]
    assert (invoice.lines[1].allowances, invoice.lines[1].charges) == (5, 3)
    assert (invoice.subtotal, invoice.allowances, invoice.charges) == (95, 9, 14)
    assert (invoice.tax, invoice.total) == (Decimal("4.90"), Decimal("104.90"))


async def test_zugferd_1_comfort_sample_is_read() -> None:
    extraction = await _read("zugferd-comfort.xml")

    invoice = extraction.invoice
    assert invoice is not None and extraction.source == "zugferd-1.0" and not extraction.review
    assert (invoice.vendor_name, invoice.vendor_tax_id) == ("Lieferant GmbH", "DE123456789")
    assert (invoice.invoice_number, invoice.issue_date) == ("471102", dt.date(2013, 3, 5))
    assert [(x.product_code, x.quantity, x.unit_price) for x in invoice.lines] == [
        ("TB100A4", 20, Decimal("9.90")),
        ("ARNR2", 50, Decimal("5.50")),
    ]
    assert _totals(invoice) == (473, Decimal("56.87"), Decimal("529.87"))


async def test_minimum_profile_has_no_lines_and_its_tax_basis_stands_for_the_subtotal() -> None:
    extraction = await _read("factur-x-minimum.xml")

    invoice = extraction.invoice
    assert invoice is not None and not extraction.review
    assert invoice.lines == [] and "lines" not in extraction.confidence
    assert _totals(invoice) == (100, Decimal("4.90"), Decimal("104.90"))


async def test_factur_x_pdf_is_read_from_its_embedded_xml_not_its_text() -> None:
    extraction = await _read("invoice_EN16931.pdf")

    assert extraction.method == "cii"
    assert extraction.source == "cii-d16b in invoice_EN16931.pdf/factur-x.xml"
    assert extraction.invoice == Invoice.model_validate(EXPECTED["factur-x-en16931.xml"])


@pytest.mark.parametrize("name", sorted(n for n, truth in EXPECTED.items() if truth is not None))
async def test_every_sample_invoice_matches_the_ground_truth_and_passes_every_check(
    name: str,
) -> None:
    extraction = await _read(name)

    assert extraction.problems == []
    assert extraction.invoice == Invoice.model_validate(EXPECTED[name])
    assert not extraction.review


async def test_written_ubl_and_labelled_pdf_read_back_exactly() -> None:
    invoice = Invoice.model_validate(
        {
            "vendor_name": "Northwind Metals",
            "vendor_tax_id": "DE123456789",
            "invoice_number": "NWM-1",
            "issue_date": dt.date(2026, 11, 2),
            "due_date": dt.date(2026, 12, 2),
            "currency": "EUR",
            "po_number": "PO-00001",
            "lines": [
                {
                    "description": "Steel bolt M8x40",
                    "product_code": "BOLT-M8",
                    "quantity": "400",
                    "unit_price": "0.26",
                    "allowances": "4.00",
                    "amount": "100.00",
                }
            ],
            "subtotal": "100.00",
            "tax": "19.00",
            "total": "119.00",
        }
    )
    xml = await extract_invoice(Document.from_bytes(to_ubl(invoice), filename="i.xml"))
    assert (xml.method, xml.problems, xml.invoice) == ("ubl", [], invoice)

    plain = invoice.model_copy(
        update={
            "lines": [invoice.lines[0].model_copy(update={"allowances": 0, "unit_price": 0.25})]
        }
    )
    pdf = text_pdf(render_labelled(plain))
    read = await extract_invoice(Document.from_bytes(pdf, filename="i.pdf"), use_model=False)
    assert (read.method, read.problems, read.invoice) == ("layout", [], plain)
