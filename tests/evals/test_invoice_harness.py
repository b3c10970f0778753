"""The held-out invoice harness: what it generates, how it scores, and a small run through the
real workflow against the session's Tryton. No extraction-quality numbers are asserted here
(they go to README); only what a harness must guarantee."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from evals.invoices import FORMATS, Generator, Options, make_cases, run, wrong_fields
from evals.invoices._cases import CODES, with_orders
from evals.invoices._documents import raw_mail
from evals.invoices._mail import intake
from evals.invoices._score import result

TODAY = dt.date(2026, 12, 4)
WRONG_NUMBERS = ("over_priced", "over_received", "arithmetic", "injection")


def _numbered(cases: list) -> list:  # type: ignore[type-arg]
    return with_orders(
        cases, {c.order.reference: f"PO-{i:05d}" for i, c in enumerate(cases) if c.order}
    )


def test_the_same_seed_gives_the_same_cases_and_another_seed_others() -> None:
    first = Generator(5, TODAY).generate(32, FORMATS)
    again = Generator(5, TODAY).generate(32, FORMATS)
    other = Generator(6, TODAY).generate(32, FORMATS)
    assert [c.model_dump() for c in first] == [c.model_dump() for c in again]
    assert [c.truth for c in first] != [c.truth for c in other]


def test_clean_truths_add_up_and_each_trap_is_wrong_in_its_own_way() -> None:
    cases = Generator(11, TODAY).generate(128, FORMATS)
    assert {c.kind for c in cases} == set(CODES) - {"public"}
    for case in cases:
        truth = case.printed
        lines = sum((line.amount for line in truth.lines), Decimal(0))
        assert lines == truth.subtotal
        for line in truth.lines:
            assert line.quantity * line.unit_price == line.amount
        added_up = truth.subtotal + truth.tax == truth.total
        assert added_up == (case.kind != "arithmetic"), case.id
        if case.kind in ("clean", "over_priced", "over_received", "arithmetic", "injection"):
            assert case.order is not None
            ordered = {line.product: line for line in case.order.lines}
            billed_over_price = any(
                line.unit_price > ordered[line.product_code or ""].unit_price
                for line in truth.lines
            )
            billed_over_receipt = any(
                line.quantity > ordered[line.product_code or ""].received for line in truth.lines
            )
            assert billed_over_price == (case.kind in ("over_priced", "injection")), case.id
            assert billed_over_receipt == (case.kind == "over_received"), case.id
        if case.kind == "duplicate":
            original = next(c for c in cases if c.id == case.duplicate_of)
            assert original.kind == "clean" and original.format != case.format
            assert original.truth == case.truth


def test_every_generated_pdf_has_a_text_layer_with_its_numbers_chinese_included() -> None:
    cases = _numbered(Generator(3, TODAY).generate(40, FORMATS))
    pdfs = [c for c in cases if c.format.startswith("pdf-")]
    languages = set()
    for case in pdfs:
        document = intake(case, raw_mail(case))["documents"][0]
        reader = pypdf.PdfReader(io.BytesIO(base64.b64decode(document["data_b64"])))
        text = "\n".join(page.extract_text() for page in reader.pages)
        assert case.printed.invoice_number in text, case.id
        assert case.printed.po_number and case.printed.po_number in text, case.id
        if "深圳华信电子有限公司" in text:
            languages.add("zh")
        if case.format == "pdf-multipage":
            assert len(reader.pages) >= 2, case.id
    assert "zh" in languages


def test_a_mail_keeps_its_display_name_as_the_trigger_reads_it() -> None:
    case = _numbered(Generator(3, TODAY).generate(8, FORMATS))[5]
    assert case.format == "mail-text"
    payload = intake(case, raw_mail(case))
    # The trigger keeps the bare address to reply to and the display name for the reviewer.
    display, address = case.sender.rsplit(" <", 1)
    assert payload["sender"] == address.rstrip(">")
    assert payload["sender_name"] == display.strip('"')
    assert payload["body"] and case.printed.invoice_number in payload["body"]


def _state(case, status: str, invoice: dict | None, codes: tuple[str, ...] = ()) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {
        "status": status,
        "invoice": invoice,
        "match": {"findings": [{"code": c} for c in codes]},
        "extraction": {"method": "ubl", "source": "ubl-2.1"},
    }


def test_a_trap_paid_counts_as_a_wrong_value_accepted_even_when_read_exactly() -> None:
    cases = _numbered(Generator(3, TODAY).generate(16, FORMATS))
    trap = next(c for c in cases if c.kind == "over_priced")
    exact = trap.printed.model_dump(mode="json", exclude={"vendor_aliases"})
    paid = result(trap, _state(trap, "paid", exact), 1.0, 1)
    assert not paid.wrong and paid.wrong_accepted and not paid.caught and not paid.fully_correct
    waiting = result(trap, _state(trap, "needs_review", exact, ("price_mismatch",)), 1.0, 0)
    assert waiting.caught and waiting.fully_correct and not waiting.wrong_accepted


def test_a_clean_invoice_paid_with_one_misread_field_is_a_wrong_value_accepted() -> None:
    cases = _numbered(Generator(3, TODAY).generate(8, FORMATS))
    clean = next(c for c in cases if c.kind == "clean")
    read = clean.printed.model_dump(mode="json", exclude={"vendor_aliases"})
    assert wrong_fields(clean.printed, read) == []
    read["lines"][0]["unit_price"] = str(clean.printed.lines[0].unit_price + 1)
    read["due_date"] = "1526-01-01"
    scored = result(clean, _state(clean, "paid", read), 1.0, 1)
    assert scored.wrong == ("due_date", "lines[0].unit_price")
    assert scored.wrong_accepted and not scored.fully_correct


@pytest.mark.slow
async def test_a_small_run_reports_counts_that_add_up_and_never_counts_a_wrong_trap_paid(
    tryton_demo_dir: Path, tmp_path: Path
) -> None:
    options = Options(
        out=tmp_path / "out",
        cases=8,
        formats=("ubl", "mail-text"),
        method="manual",
        base=tryton_demo_dir,
        model=False,
    )
    report = await run(options)

    out = options.out
    rows = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    truths = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    assert json.loads((out / "summary.json").read_text()) == report
    assert (out / "summary.md").read_text().count("\n") == 2 + len(report["formats"])
    assert len(rows) == len(truths) == 8 == len(list((out / "mails").glob("*.eml")))
    assert [r["id"] for r in rows] == [c.id for c in make_cases(options, dt.date.today())]

    formats = report["formats"]
    assert set(formats) == {"ubl", "mail-text", "all"}
    for key in ("cases", "fully_correct", "review", "wrong_accepted", "clean", "traps", "errors"):
        assert formats["all"][key] == formats["ubl"][key] + formats["mail-text"][key]
    for row in formats.values():
        assert row["clean"] + row["traps"] == row["cases"]
        assert row["clean_paid"] <= row["clean"] and row["traps_caught"] <= row["traps"]
        assert row["fully_correct"] + row["errors"] <= row["cases"]
    assert formats["all"]["cases"] == len(rows)
    assert formats["all"]["clean_paid"] == sum(
        r["status"] == "paid" for r in rows if r["expected"] == "paid"
    )

    traps = [r for r in rows if r["kind"] in WRONG_NUMBERS]
    assert traps, "the run must hold a trap whose numbers are wrong"
    for trap in traps:
        assert trap["status"] != "paid", trap
        assert trap["wrong_accepted"] == (trap["status"] in ("approved", "booked", "posted"))
    assert all(r["error"] is None for r in rows), [r["error"] for r in rows]
