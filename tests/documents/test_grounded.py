"""The grounded reader through `extract_invoice`: our own documents in layouts no rule was
written for, read against the demo's suppliers and orders; values filled only where grounded."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from tests.documents.grounded_samples import (
    BHP,
    Sample,
    demo_hints,
    en,
    samples,
    text_mail_en,
)
from tools.documents import Document, Extraction, Hints, extract_invoice
from tools.documents._amounts import document_style, numbers_in, value_of
from tools.documents._dates import Unsure, read_date
from tools.documents._labels import label_at

SAMPLES = samples()
CLEAN = [s for s in SAMPLES if s.clean]
MISLEADING = [s for s in SAMPLES if not s.clean]


async def _read(sample: Sample) -> Extraction:
    return await extract_invoice(sample.document, hints=demo_hints(sample.sender), use_model=False)


@pytest.mark.parametrize("sample", CLEAN, ids=lambda s: s.name)
async def test_a_clean_invoice_in_an_unknown_layout_is_read_fully_with_evidence(
    sample: Sample,
) -> None:
    extraction = await _read(sample)

    assert extraction.method == "grounded" and not extraction.review, extraction.problems
    assert extraction.invoice == sample.truth
    for name in ("vendor_name", "invoice_number", "issue_date", "currency", "total", "lines[1]"):
        evidence = extraction.evidence[name]
        assert evidence.text and evidence.confidence >= 0.8, (name, evidence)
    assert extraction.evidence["total"].page is not None


@pytest.mark.parametrize("sample", MISLEADING, ids=lambda s: s.name)
async def test_a_misleading_document_goes_to_a_person_with_the_reason(sample: Sample) -> None:
    extraction = await _read(sample)

    assert extraction.review
    assert any(sample.why in problem for problem in extraction.problems), extraction.problems


async def test_per_format_no_document_is_misread_and_every_clean_one_is_read() -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for sample in SAMPLES:
        extraction = await _read(sample)
        if extraction.review:
            outcome = "review"
        elif sample.clean and extraction.invoice == sample.truth:
            outcome = "correct"
        else:
            outcome = "misread"
        counts[(sample.format, outcome)] += 1
    print({f"{fmt}/{outcome}": n for (fmt, outcome), n in sorted(counts.items())})
    assert counts[("pdf", "misread")] == counts[("text", "misread")] == 0
    assert counts[("pdf", "correct")] + counts[("text", "correct")] == len(CLEAN)


async def test_the_second_pages_rows_carry_their_page() -> None:
    sample = next(s for s in SAMPLES if s.name == "pdf-de-2-pages")
    extraction = await _read(sample)

    assert extraction.evidence["lines[1]"].page == 1
    assert extraction.evidence["lines[2]"].page == 2
    assert extraction.evidence["total"].page == 2


async def test_without_hints_a_vendor_is_never_identified_so_a_person_looks() -> None:
    sample = next(s for s in SAMPLES if s.name == "pdf-en-boxed")
    extraction = await extract_invoice(sample.document, use_model=False)

    assert extraction.review and extraction.invoice is not None
    assert any("no known supplier is identified" in p for p in extraction.problems)
    # what was read is still there for the person, with its evidence
    assert extraction.invoice.total == Decimal("760.00")


async def test_a_sender_with_a_display_name_or_a_bank_account_identifies_the_vendor() -> None:
    sample = next(s for s in SAMPLES if s.name == "text-en")
    hints = demo_hints('"Northwind Metals, Billing" <Billing@Northwind-Metals.example>')
    extraction = await extract_invoice(sample.document, hints=hints, use_model=False)
    assert not extraction.review
    assert "sender address" in extraction.evidence["vendor_name"].how

    assert sample.truth is not None
    iban = "DE89 3704 0044 0532 0130 00"
    text = (sample.document.text or "").replace("VAT: DE123456704", f"IBAN: {iban}")
    with_iban = demo_hints()
    suppliers = [
        s.model_copy(update={"bank_accounts": ["DE89370400440532013000"]})
        if s.code == "SUP-NWM"
        else s
        for s in with_iban.suppliers
    ]
    extraction = await extract_invoice(
        Document.from_text(text), hints=Hints(suppliers=suppliers), use_model=False
    )
    assert extraction.invoice is not None and not extraction.review, extraction.problems
    assert "bank account" in extraction.evidence["vendor_name"].how


async def test_a_po_number_of_another_supplier_is_a_problem() -> None:
    sample = next(s for s in SAMPLES if s.name == "text-en")
    text = (sample.document.text or "").replace("PO-00005", "PO-00002")
    extraction = await extract_invoice(
        Document.from_text(text), hints=demo_hints(sample.sender), use_model=False
    )
    assert extraction.review
    assert any("PO-00002 is an order with Blue Harbor Packaging" in p for p in extraction.problems)


async def test_an_invoice_with_no_currency_written_is_not_given_one() -> None:
    sample = next(s for s in SAMPLES if s.name == "text-en")
    assert sample.truth is not None
    doc = text_mail_en(sample.truth)
    text = (doc.text or "").replace("EUR ", "")
    extraction = await extract_invoice(
        Document.from_text(text), hints=demo_hints(sample.sender), use_model=False
    )
    assert extraction.review and extraction.invoice is None
    assert "currency: no currency is written" in extraction.problems


def test_amounts_are_read_in_every_decimal_style_and_ambiguity_is_refused() -> None:
    written = {
        "1.234,56": Decimal("1234.56"),
        "1,234.56": Decimal("1234.56"),
        "1 234,56": Decimal("1234.56"),
        "1'234.56": Decimal("1234.56"),
        "12,5": Decimal("12.5"),
        "0,125": Decimal("0.125"),
        "1.234.567": Decimal("1234567"),
    }
    for text, value in written.items():
        (number,) = numbers_in(text)
        assert value_of(number, None) == value, text
    (ambiguous,) = numbers_in("1,234")
    assert value_of(ambiguous, None) is None
    assert value_of(ambiguous, ",") == Decimal("1.234")
    assert value_of(ambiguous, ".") == Decimal("1234")
    # a document whose certain numbers disagree decides nothing
    assert document_style(numbers_in("12,50 and 3.75")) is None
    # codes and dates are not amounts; a plain space separates two numbers
    assert numbers_in("BOX-60 on 04.03.2026") == []
    assert [n.raw for n in numbers_in("2 100.00")] == ["2", "100.00"]


def test_dates_are_read_when_certain_and_refused_when_day_and_month_swap() -> None:
    assert read_date("2026-03-04", None) == (dt.date(2026, 3, 4), "2026-03-04")
    assert read_date("04.03.2026", None) == (dt.date(2026, 3, 4), "04.03.2026")
    assert read_date("2026年3月4日", None) == (dt.date(2026, 3, 4), "2026年3月4日")
    assert read_date("13/04/2026", None) == (dt.date(2026, 4, 13), "13/04/2026")
    assert read_date("03/04/2026", "DMY") == (dt.date(2026, 4, 3), "03/04/2026")
    assert read_date("03/04/2026", "MDY") == (dt.date(2026, 3, 4), "03/04/2026")
    with pytest.raises(Unsure, match="nothing tells which"):
        read_date("03/04/2026", None)
    for worded in ("4 March 2026", "4. März 2026", "4 mars 2026", "March 4, 2026"):
        found = read_date(worded, None)
        assert found is not None and found[0] == dt.date(2026, 3, 4), worded
    assert read_date("see below", None) is None


def test_the_longest_label_wins_in_every_language() -> None:
    cases = {
        "Total excl. VAT": "subtotal",
        "Total VAT": "tax",
        "Total": "total",
        "Total TTC": "total",
        "Total HT": "subtotal",
        "MwSt. 19 %": "tax",
        "USt-IdNr.": "vendor_tax_id",
        "Rechnungs-Nr.:": "invoice_number",
        "价税合计：": "total",
        "发票号码：": "invoice_number",
        "Fecha de vencimiento": "due_date",
        "Due date": "due_date",
    }
    for text, field in cases.items():
        hit = label_at(text)
        assert hit is not None and hit.field == field, (text, hit)
    assert label_at("PO-00042") is None  # a code, not the label `PO`
    assert label_at("Datumsformat") is None


def test_po_numbers_are_found_by_the_shape_of_the_erps() -> None:
    pattern = demo_hints().po_pattern()
    assert pattern is not None
    assert pattern.findall("Your order PO-00017, not PO-17 nor XPO-00017") == ["PO-00017"]


def test_hints_keep_the_bare_sender_address() -> None:
    assert Hints(sender="Blue Harbor <Invoices@BlueHarbor.example>").sender_address() == (
        "invoices@blueharbor.example"
    )
    assert BHP.name in {s.name for s in demo_hints().suppliers}
    assert en(Decimal("1234.5")) == "1,234.50"
