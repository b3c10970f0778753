"""Roles against scripted OpenAI-compatible endpoints: structured output repaired after an invalid
answer, fallback past a closed port, and every attempt in the decision log."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel, Field

from agent_ops.errors import ConfigError, ModelUnavailable
from agent_ops.models import MemoryDecisions, Models, ModelsConfig, load_models_config
from agent_ops.settings import Settings
from tests.models.fakes import closed_port, scripted_chat
from tests.models.respond_graph import respond_graph

PROMPTS = Path(__file__).parents[2] / "prompts"


class Invoice(BaseModel):
    number: str = Field(pattern=r"^INV-\d{4}$")
    amount: float = Field(gt=0)
    currency: Literal["EUR", "USD"]


def build(roles: dict[str, object], providers: dict[str, object]) -> tuple[Models, MemoryDecisions]:
    config = ModelsConfig.model_validate({"roles": roles, "providers": providers})
    sink = MemoryDecisions()
    return Models(config, Settings(prompts_dir=PROMPTS), sink), sink


async def test_structured_output_is_re_asked_with_the_validation_error_then_validates() -> None:
    with scripted_chat(
        [
            '{"number": "12", "amount": 10, "currency": "EUR"}',
            '{"number": "INV-0042", "amount": 99.5, "currency": "EUR"}',
        ]
    ) as fake:
        models, sink = build(
            {"extract": {"providers": ["openai:fake"], "prompt": "extract", "retries": 0}},
            {"openai:fake": {"base_url": fake.url, "input_cost_per_1k": 1.0}},
        )
        invoice = (
            await models.role("extract")
            .with_structured_output(Invoice)
            .ainvoke("Invoice INV-0042 over 99.50 EUR")
        )

    assert invoice == Invoice(number="INV-0042", amount=99.5, currency="EUR")
    first, second = fake.requests
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["schema"] == Invoice.model_json_schema()
    repair = second["messages"][-1]["content"]
    assert "number" in repair and "INV-" in repair  # the pattern the answer broke
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": '{"number": "12", "amount": 10, "currency": "EUR"}',
    }
    invalid, valid = sink.decisions
    assert invalid.error is not None and invalid.error.startswith("invalid answer: number")
    assert valid.error is None and valid.output is not None
    assert (valid.prompt_name, valid.prompt_version) == ("extract", "v1")
    assert (valid.input_tokens, valid.output_tokens, valid.cost_usd) == (11, 7, 0.011)
    assert invalid.input_hash == valid.input_hash


async def test_answers_that_never_validate_end_in_model_unavailable_naming_each_failure() -> None:
    with scripted_chat(["not json", "{}"]) as fake:
        models, sink = build(
            {
                "extract": {
                    "providers": ["openai:fake"],
                    "repair_attempts": 1,
                    "on_failure": "error",
                }
            },
            {"openai:fake": {"base_url": fake.url}},
        )
        with pytest.raises(ModelUnavailable, match="openai:fake: invalid answer") as caught:
            await models.role("extract").with_structured_output(Invoice).ainvoke("x")
    assert "Field required" in str(caught.value)
    assert [d.error is not None for d in sink.decisions] == [True, True]


async def test_closed_primary_falls_back_to_secondary_after_its_retries() -> None:
    down = f"http://127.0.0.1:{closed_port()}/v1"
    with scripted_chat(["Your invoice was paid on Monday."]) as fake:
        models, sink = build(
            {
                "respond": {
                    "providers": ["openai:primary", "openai:secondary"],
                    "prompt": "respond",
                    "retries": 1,
                    "backoff_seconds": 0.01,
                }
            },
            {"openai:primary": {"base_url": down}, "openai:secondary": {"base_url": fake.url}},
        )
        answer = await models.role("respond").ainvoke("Was invoice 7 paid?")

    assert answer.content == "Your invoice was paid on Monday."
    assert [(d.provider, d.error is None) for d in sink.decisions] == [
        ("openai:primary", False),
        ("openai:primary", False),  # one retry on a connection error
        ("openai:secondary", True),
    ]
    assert "ConnectionError: Connection error" in (sink.decisions[0].error or "")
    assert (sink.decisions[2].prompt_name, sink.decisions[2].prompt_version) == ("respond", "v1")
    assert [d.token_source for d in sink.decisions] == ["none", "none", "provider"]


async def test_a_streamed_answer_keeps_the_usage_the_endpoint_reports_at_its_end() -> None:
    with scripted_chat(["Your invoice was paid on Monday."]) as fake:
        models, sink = build(
            {"respond": {"providers": ["openai:fake"], "prompt": "respond"}},
            {"openai:fake": {"base_url": fake.url, "output_cost_per_1k": 2.0}},
        )

        chunks = [
            message.text
            async for message, _ in respond_graph(models)
            .compile()
            .astream({"question": "Was invoice 7 paid?"}, stream_mode="messages")
        ]

    (request,) = fake.requests
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    assert "".join(chunks).strip() == "Your invoice was paid on Monday."
    (logged,) = sink.decisions
    assert (logged.input_tokens, logged.output_tokens, logged.token_source) == (11, 7, "provider")
    assert logged.cost_usd == 0.014


async def test_every_provider_down_pauses_the_graph_for_a_person_whose_answer_is_logged() -> None:
    models, sink = build(
        {"respond": {"providers": ["openai:down"], "retries": 0}},
        {"openai:down": {"base_url": f"http://127.0.0.1:{closed_port()}/v1"}},
    )

    graph = respond_graph(models).compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1", "run_id": "r1"}}

    paused = await graph.ainvoke({"question": "Refund?"}, config)  # type: ignore[arg-type]
    (request,) = paused["__interrupt__"]
    assert request.value["type"] == "model_review" and request.value["role"] == "respond"
    assert "openai:down: connection refused: OpenAIConnectionError" in request.value["reason"]

    done = await graph.ainvoke(Command(resume="Yes, refunded."), config)  # type: ignore[arg-type]
    assert done["answer"] == "Yes, refunded."
    assert sink.decisions[-1].provider == "human:review"
    assert sink.decisions[-1].run_id == "r1" and sink.decisions[-1].thread_id == "t1"


def test_models_config_file_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "models.yaml"
    bad.write_text("roles:\n  classify:\n    providers: [gpt4]\n")
    with pytest.raises(ConfigError, match=r"models.yaml: roles.classify.providers: .*'gpt4'"):
        load_models_config(bad)
    good = tmp_path / "models.toml"
    good.write_text('[roles.judge]\nproviders = ["openai:gpt-4o", "local:smollm2"]\n')
    assert load_models_config(good).role("judge").providers == ["openai:gpt-4o", "local:smollm2"]
    with pytest.raises(ConfigError, match="role 'triage' is not configured"):
        load_models_config(None).role("triage")


def test_default_config_sends_every_role_to_the_embedded_model() -> None:
    config = load_models_config(None)
    assert {name: role.providers for name, role in config.roles.items()} == {
        role: ["local:smollm2"] for role in ("extract", "classify", "respond", "judge")
    }


async def test_a_rules_provider_answers_as_fallback_and_embed_cannot_chat() -> None:
    models, sink = build(
        {
            "extract": {"providers": ["openai:down", "rules:invoice"], "retries": 0},
            "classify": {"providers": ["embed:minilm"]},
        },
        {"openai:down": {"base_url": f"http://127.0.0.1:{closed_port()}/v1"}},
    )
    models.register_rule(
        "invoice", lambda messages: {"number": "INV-0001", "amount": 5, "currency": "USD"}
    )
    invoice = await models.role("extract").with_structured_output(Invoice).ainvoke("INV-0001")
    assert invoice.currency == "USD"
    assert [d.provider for d in sink.decisions] == ["openai:down", "rules:invoice"]
    with pytest.raises(ConfigError, match="embedding model; it cannot answer a chat role"):
        models.role("classify")
