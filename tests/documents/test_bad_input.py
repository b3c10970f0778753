"""Bad documents end as an extraction without an invoice (or with problems) that says what is
wrong, sent to review; `extract_invoice` never raises for them."""

from __future__ import annotations

import base64

from tests.documents.conftest import FACTURX, load
from tools.documents import Document, extract_invoice, text_pdf


def ubl_with(old: str, new: str) -> Document:
    xml = (FACTURX / "ubl-21-en16931.xml").read_text(encoding="utf-8")
    assert old in xml
    return Document.from_bytes(xml.replace(old, new, 1).encode(), "broken.xml")


async def test_a_truncated_pdf_is_unreadable_not_an_exception() -> None:
    data = (FACTURX / "invoice_EN16931.pdf").read_bytes()
    extraction = await extract_invoice(Document.from_bytes(data[:3000], "cut.pdf"), use_model=False)

    assert extraction.invoice is None and extraction.method == "none" and extraction.review
    assert "unreadable PDF" in extraction.problems[0] and "cut.pdf" in extraction.problems[0]


async def test_garbage_named_pdf_is_unreadable() -> None:
    document = Document.from_bytes(b"\x00\x01 this is no PDF", "invoice.pdf")
    extraction = await extract_invoice(document, use_model=False)

    assert extraction.invoice is None
    assert extraction.problems == [
        "document: invoice.pdf: unreadable PDF: it does not start with %PDF-"
    ]


async def test_pdf_without_text_layer_asks_for_a_person() -> None:
    extraction = await extract_invoice(
        Document.from_bytes(text_pdf([]), "scan.pdf"), use_model=False
    )

    assert extraction.invoice is None and extraction.review
    assert "has no text layer" in extraction.problems[0]


async def test_xml_that_is_not_an_invoice_is_named_as_such() -> None:
    extraction = await extract_invoice(load("order-x-basic.xml"), use_model=False)

    assert extraction.invoice is None and extraction.review
    assert "root element 'SCRDMCCBDACIOMessageStructure'" in extraction.problems[0]
    assert "is not a UBL 2.1 Invoice" in extraction.problems[0]


async def test_ubl_failing_the_xsd_names_the_element_and_trusts_no_field() -> None:
    document = ubl_with(
        "<cbc:IssueDate>2026-06-17</cbc:IssueDate>", "<cbc:IssueDate>17.06.2026</cbc:IssueDate>"
    )
    extraction = await extract_invoice(document, use_model=False)

    assert extraction.review
    schema = [p for p in extraction.problems if p.startswith("schema:")]
    assert (
        schema and "UBL 2.1 XSD" in schema[0] and "IssueDate" in schema[0] and "line 7" in schema[0]
    )
    assert any(p.startswith("issue_date:") for p in extraction.problems)


async def test_ubl_missing_an_element_the_xsd_requires_fails_by_name() -> None:
    document = ubl_with("<cbc:ID>F124212</cbc:ID>", "")
    extraction = await extract_invoice(document, use_model=False)

    assert extraction.invoice is None and extraction.review
    assert any("IssueDate" in p and "Expected is" in p for p in extraction.problems)
    assert "invoice_number: missing (BT-1, cbc:ID)" in extraction.problems


async def test_ubl_missing_an_element_only_en16931_requires_is_caught_by_the_reader() -> None:
    # The UBL XSD leaves the currency optional; EN 16931 (BT-5) does not.
    document = ubl_with("<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", "")
    extraction = await extract_invoice(document, use_model=False)

    assert extraction.invoice is None and extraction.review
    assert "currency: missing (BT-5, cbc:DocumentCurrencyCode)" in extraction.problems


async def test_xml_entities_are_refused_not_expanded() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&x;</Invoice>'
    )
    extraction = await extract_invoice(Document.from_bytes(xxe, "evil.xml"), use_model=False)

    assert extraction.invoice is None
    assert "DOCTYPE is refused" in extraction.problems[0]
    assert "root:" not in extraction.model_dump_json()


async def test_malformed_xml_says_where() -> None:
    document = Document.from_bytes(b"<Invoice><cbc:ID>1</Invoice>", "bad.xml")
    extraction = await extract_invoice(document, use_model=False)

    assert extraction.invoice is None
    assert extraction.problems[0].startswith("document: bad.xml: not well-formed XML")


async def test_credit_note_is_not_taken_for_an_invoice() -> None:
    document = ubl_with("<cbc:InvoiceTypeCode>380", "<cbc:InvoiceTypeCode>381")
    extraction = await extract_invoice(document, use_model=False)

    assert extraction.invoice is None and extraction.review
    assert "credit note" in extraction.problems[-1]


async def test_empty_text_is_empty() -> None:
    extraction = await extract_invoice(Document.from_text("  \n\t "), use_model=False)

    assert extraction.invoice is None and extraction.review
    assert extraction.problems == ["document: message.txt is empty"]


async def test_invalid_base64_and_binary_junk_are_named() -> None:
    bad_b64 = Document(filename="a.pdf", media_type="application/pdf", data_b64="@@@")
    junk = Document.from_bytes(b"\xff\xfe\x00\x81" * 10, "blob.bin")

    first = await extract_invoice(bad_b64, use_model=False)
    second = await extract_invoice(junk, use_model=False)

    assert first.problems == ["document 'a.pdf': data_b64 is not valid base64"]
    assert "neither a PDF, e-invoice XML nor UTF-8 text" in second.problems[0]


def test_a_document_carries_exactly_one_body_and_round_trips_as_json() -> None:
    document = Document.from_bytes(b"%PDF-1.4", "x.pdf")
    assert Document.model_validate_json(document.model_dump_json()) == document
    assert document.data() == b"%PDF-1.4" and document.media_type == "application/pdf"
    assert base64.b64decode(document.data_b64 or "") == b"%PDF-1.4"
    try:
        Document(filename="y", media_type="text/plain")
    except ValueError as exc:
        assert "exactly one of data_b64 or text" in str(exc)
    else:
        raise AssertionError("a document without a body was accepted")
