"""The model path: text no layout fits goes to the `extract` role; its answer is validated and
grounded in the document, so a right reading passes and an invented one goes to review. Against
a scripted OpenAI-compatible endpoint (outside the system) and, marked `llama`, the real
SmolLM2."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from agent_ops.models import MemoryDecisions, Models, ModelsConfig
from agent_ops.settings import Settings
from evals.extraction.dataset import Case, generated_cases
from tests.models.fakes import closed_port, scripted_chat
from tools.documents import Invoice, extract_invoice


def email_case() -> Case:
    return next(c for c in generated_cases() if c.group == "text:email")


def answer_for(invoice: Invoice, **changes: str) -> str:
    body = {
        "vendor_name": invoice.vendor_name,
        "vendor_tax_id": invoice.vendor_tax_id or "",
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "currency": invoice.currency,
        "po_number": invoice.po_number or "",
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
            }
            for line in invoice.lines
        ],
        "subtotal": str(invoice.subtotal),
        "tax": str(invoice.tax),
        "total": str(invoice.total),
    }
    body.update(changes)
    return json.dumps(body)


def scripted_models(url: str) -> tuple[Models, MemoryDecisions]:
    config = ModelsConfig.model_validate(
        {
            "roles": {"extract": {"providers": ["openai:fake"], "prompt": "extract", "retries": 0}},
            "providers": {"openai:fake": {"base_url": url}},
        }
    )
    sink = MemoryDecisions()
    return Models(config, Settings(), sink), sink


async def test_a_grounded_model_reading_is_accepted_and_the_prompt_is_recorded() -> None:
    case = email_case()
    assert case.truth is not None
    with scripted_chat([answer_for(case.truth)]) as fake:
        models, sink = scripted_models(fake.url)
        extraction = await extract_invoice(case.document, models=models)

    assert extraction.method == "model" and extraction.source == "openai:fake extract_invoice@v1"
    assert extraction.invoice is not None
    assert extraction.invoice.model_dump(exclude={"lines"}) == case.truth.model_dump(
        exclude={"lines"}
    )
    assert extraction.problems == [] and not extraction.review
    assert any("labelled-en refused" in note for note in extraction.notes)
    (request,) = fake.requests
    assert request["response_format"]["json_schema"]["name"] == "ModelInvoice"
    assert case.truth.invoice_number in request["messages"][-1]["content"]
    (decision,) = sink.decisions
    assert (decision.role, decision.prompt_name, decision.prompt_version) == (
        "extract",
        "extract",
        "v1",
    )


async def test_an_invented_value_sends_the_model_reading_to_review_naming_the_field() -> None:
    case = email_case()
    assert case.truth is not None
    with scripted_chat([answer_for(case.truth, invoice_number="INV-9999-0001")]) as fake:
        models, _ = scripted_models(fake.url)
        extraction = await extract_invoice(case.document, models=models)

    assert extraction.review
    assert extraction.problems == ["invoice_number: 'INV-9999-0001' is not written in the document"]
    assert extraction.confidence["invoice_number"] < 0.2


async def test_an_impossible_date_is_re_asked_then_refused_without_an_exception() -> None:
    case = email_case()
    assert case.truth is not None
    bad = answer_for(case.truth, issue_date="2026-13-45")
    with scripted_chat([bad, bad]) as fake:
        models, sink = scripted_models(fake.url)
        extraction = await extract_invoice(case.document, models=models)

    assert extraction.invoice is None and extraction.review
    assert any(
        "model: every provider of model role 'extract' failed" in n for n in extraction.notes
    )
    assert (
        len(fake.requests) == 2
        and "month must be in 1..12" in fake.requests[1]["messages"][-1]["content"]
    )
    assert all(d.error and "invalid answer" in d.error for d in sink.decisions)


async def test_an_unreachable_model_leaves_the_document_for_review() -> None:
    models, _ = scripted_models(f"http://127.0.0.1:{closed_port()}/v1")
    extraction = await extract_invoice(email_case().document, models=models)

    assert extraction.invoice is None and extraction.review
    assert extraction.problems[0] == "document: no method could read gen-013-email.txt"
    # and what the grounded reader did and did not find, for the person who reads it
    assert "total: not found on the document" in extraction.problems
    assert "Connection" in extraction.notes[-1]


@pytest.fixture(scope="module")
async def smollm2() -> AsyncIterator[Models]:
    config = ModelsConfig.model_validate(
        {
            "roles": {
                "extract": {
                    "providers": ["local:smollm2"],
                    "prompt": "extract",
                    "timeout_seconds": 300,
                    "retries": 0,
                    "repair_attempts": 0,
                    "on_failure": "error",
                }
            },
            "providers": {"local:smollm2": {"temperature": 0.0, "max_tokens": 700}},
        }
    )
    models = Models(config, Settings(), MemoryDecisions())
    yield models
    await models.aclose()


@pytest.mark.llama
@pytest.mark.slow
async def test_smollm2_reads_unknown_layouts_and_nothing_wrong_is_accepted(smollm2: Models) -> None:
    cases = [
        next(c for c in generated_cases() if c.group == g) for g in ("text:email", "pdf:statement")
    ]
    for case in cases:
        extraction = await extract_invoice(case.document, models=smollm2)

        assert extraction.method in ("model", "none")
        if extraction.method == "model":
            assert extraction.source == "local:smollm2 extract_invoice@v1"
            assert extraction.invoice is not None and extraction.confidence
        # Whatever the tiny model answered, a reading that is not exactly right is not accepted.
        if extraction.invoice != case.truth:
            assert extraction.review, extraction.model_dump_json()
        print(
            f"\n{case.name}: {extraction.method}, review={extraction.review}, problems={extraction.problems[:3]}"
        )
