"""Known layouts read the text they fit exactly, and refuse, saying why, the text they do not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evals.extraction.dataset import RENDERERS, generated_cases
from tests.documents.conftest import load
from tools.documents import Document, extract_invoice
from tools.documents._layouts import LABELLED, RECHNUNG, Refused, read_layouts
from tools.documents._pdf import read_pdf

KNOWN = [
    c
    for c in generated_cases()
    if c.consistent and c.group.endswith(("labelled-en", "rechnung-de"))
]


@pytest.mark.parametrize("case", KNOWN, ids=[c.name for c in KNOWN])
async def test_known_layouts_read_generated_invoices_exactly_as_text_and_pdf(case) -> None:  # type: ignore[no-untyped-def]
    extraction = await extract_invoice(case.document, use_model=False)

    assert (
        extraction.method == "layout" and extraction.source == f"layout:{case.group.split(':')[1]}"
    )
    assert extraction.invoice == case.truth
    assert extraction.problems == [] and not extraction.review
    assert set(extraction.confidence.values()) == {0.9}


@pytest.mark.parametrize("layout", ["email", "statement"])
def test_layouts_refuse_text_in_a_layout_they_do_not_know(layout: str) -> None:
    case = next(c for c in generated_cases() if c.group == f"text:{layout}")
    assert case.document.text is not None

    found, reasons = read_layouts(case.document.text)

    assert found is None
    assert [r.split(":")[0] for r in reasons] == [
        "layout labelled-en refused",
        "layout rechnung-de refused",
    ]


def test_layouts_refuse_a_real_vendor_pdf_text_layer() -> None:
    # The Factur-X sample's own printout: invoice-like, but in no known layout.
    text = read_pdf(load("invoice_EN16931.pdf").data(), "sample.pdf").text

    found, reasons = read_layouts(text)

    assert found is None and len(reasons) == 2


def sample_text() -> str:
    case = next(c for c in generated_cases() if c.group == "text:labelled-en")
    assert case.document.text is not None and case.truth is not None
    return case.document.text


def test_a_label_with_two_different_values_is_refused() -> None:
    text = sample_text() + "Total: 1.00\n"
    with pytest.raises(Refused, match=r"total label appears with different values"):
        LABELLED.read(text)


def test_a_table_row_that_does_not_parse_is_refused_not_skipped() -> None:
    lines = sample_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Item"))
    lines.insert(header + 1, "Freight flat fee")
    with pytest.raises(Refused, match=r"is not a table row: 'Freight flat fee'"):
        LABELLED.read("\n".join(lines))


def test_a_value_that_is_not_a_date_is_refused() -> None:
    text = sample_text().replace("Date: ", "Date: soon ", 1)
    with pytest.raises(Refused, match=r"issue_date: cannot read 'soon"):
        LABELLED.read(text)


def test_without_a_currency_the_layout_refuses_rather_than_guessing() -> None:
    text = "\n".join(line for line in sample_text().splitlines() if not line.startswith("Currency"))
    with pytest.raises(Refused, match=r"currency: no currency marks"):
        LABELLED.read(text)


def test_german_amounts_and_dates_are_read_in_their_own_convention() -> None:
    case = next(c for c in generated_cases() if c.group == "text:rechnung-de")
    assert case.document.text is not None and case.truth is not None
    text = RENDERERS["rechnung-de"](case.truth.model_copy(update={"total": Decimal("12345.67")}))

    invoice = RECHNUNG.read("\n".join(text))

    assert "Gesamtbetrag: 12.345,67" in text
    assert invoice.total == Decimal("12345.67")
    assert invoice.issue_date == case.truth.issue_date


async def test_an_inconsistent_invoice_in_a_known_layout_is_read_as_written_and_sent_to_review() -> (
    None
):
    case = next(c for c in generated_cases() if not c.consistent)
    assert case.truth is not None

    extraction = await extract_invoice(case.document, use_model=True)  # the model is not asked

    assert extraction.method == "layout" and extraction.review
    assert extraction.invoice is not None and extraction.invoice.total == case.truth.total + 10
    assert extraction.problems[0].startswith(f"total: {case.truth.total + 10} but subtotal")
    assert extraction.confidence["total"] < 0.3 and extraction.confidence["vendor_name"] == 0.9


async def test_unknown_layout_without_the_model_is_sent_to_review_with_the_reasons() -> None:
    case = next(c for c in generated_cases() if c.group == "text:email")
    extraction = await extract_invoice(case.document, use_model=False)

    assert extraction.invoice is None and extraction.review
    assert "no known layout fits" in extraction.problems[0]
    assert any("labelled-en refused" in n for n in extraction.notes)


async def test_plain_text_document_from_bytes_reaches_the_layouts() -> None:
    document = Document.from_bytes(sample_text().encode(), "invoice.txt")
    extraction = await extract_invoice(document, use_model=False)
    assert extraction.method == "layout" and not extraction.review
