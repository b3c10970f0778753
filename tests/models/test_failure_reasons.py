"""Why a model attempt failed, named in the decision log and in the role's error, against scripted
OpenAI-compatible endpoints on loopback: invalid JSON and schema failures with their validation
text, an empty answer, an HTTP status, a refused port, a generation timeout naming its seconds
and setting, and a queue bound that fails a flooded provider instead of letting it hang."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from agent_ops.errors import ModelUnavailable
from agent_ops.models import MemoryDecisions, Models, ModelsConfig
from agent_ops.settings import Settings
from tests.models.fakes import Late, Status, closed_port, scripted_chat

PROMPTS = Path(__file__).parents[2] / "prompts"


class Total(BaseModel):
    number: str = Field(pattern=r"^INV-\d{4}$")
    total: float


def build(role: dict[str, object], providers: dict[str, object]) -> tuple[Models, MemoryDecisions]:
    config = ModelsConfig.model_validate(
        {
            "roles": {"extract": {"retries": 0, "on_failure": "error"} | role},
            "providers": providers,
        }
    )
    sink = MemoryDecisions()
    return Models(config, Settings(prompts_dir=PROMPTS), sink), sink


async def test_invalid_json_schema_and_empty_answers_are_each_named_with_the_validation_text() -> (
    None
):
    with scripted_chat(['{"number": "INV-0001", "total": ', '{"number": "7", "total": 5}', ""]) as (
        fake
    ):
        models, sink = build(
            {"providers": ["openai:fake"], "repair_attempts": 2},
            {"openai:fake": {"base_url": fake.url}},
        )
        with pytest.raises(ModelUnavailable) as caught:
            await models.role("extract").with_structured_output(Total).ainvoke("INV-0001, 5 EUR")

    not_json, off_schema, empty = sink.decisions
    assert not_json.error_kind == "invalid_json"
    assert not_json.error is not None and "Invalid JSON" in not_json.error
    assert off_schema.error_kind == "schema_invalid"
    assert off_schema.error is not None and off_schema.error.startswith("invalid answer: number:")
    assert "INV-" in off_schema.error  # the pattern the answer broke
    assert (empty.error_kind, empty.error) == (
        "empty_answer",
        "invalid answer: the answer is empty; a JSON object was required",
    )
    # Every failure of the call is in the role's error, each with its reason.
    reason = str(caught.value)
    assert reason.count("openai:fake: invalid answer:") == 3 and "Invalid JSON" in reason
    for d in sink.decisions:
        assert d.generation_ms is not None and d.queue_ms is not None
        assert d.output is not None  # the invalid answer itself is kept for the audit


async def test_an_http_error_status_is_named_with_its_code_and_body() -> None:
    with scripted_chat([Status(500, {"error": {"message": "model exploded"}})]) as fake:
        models, sink = build(
            {"providers": ["openai:fake"]}, {"openai:fake": {"base_url": fake.url}}
        )
        with pytest.raises(ModelUnavailable, match=r"openai:fake: HTTP 500: .*model exploded"):
            await models.role("extract").ainvoke("hello")
    (failed,) = sink.decisions
    assert failed.error_kind == "http_status"
    assert failed.error is not None and "model exploded" in failed.error


async def test_a_refused_port_is_named_connection_refused() -> None:
    models, sink = build(
        {"providers": ["openai:down"]},
        {"openai:down": {"base_url": f"http://127.0.0.1:{closed_port()}/v1"}},
    )
    with pytest.raises(ModelUnavailable, match="openai:down: connection refused: "):
        await models.role("extract").ainvoke("hello")
    (failed,) = sink.decisions
    assert failed.error_kind == "connection_refused"
    assert failed.error is not None and "Errno 111" in failed.error  # the cause, not just "error"


async def test_a_generation_timeout_names_its_seconds_and_setting_and_is_retried() -> None:
    with scripted_chat([Late(2.0, "too late"), "in time"]) as fake:
        models, sink = build(
            {
                "providers": ["openai:slow"],
                "timeout_seconds": 0.4,
                "retries": 1,
                "backoff_seconds": 0.01,
            },
            {"openai:slow": {"base_url": fake.url}},
        )
        answer = await models.role("extract").ainvoke("hello")
    assert answer.text == "in time"
    timed_out, answered = sink.decisions
    assert timed_out.error_kind == "generation_timeout"
    assert timed_out.error == (
        "generation timeout: no complete answer within 0.4s of generation"
        " (roles.extract.timeout_seconds)"
    )
    assert timed_out.generation_ms is not None and 400 <= timed_out.generation_ms < 1500
    assert answered.error is None and answered.error_kind is None


async def test_a_flooded_provider_fails_at_its_queue_bound_naming_the_setting() -> None:
    # One call at a time: the second caller waits behind a slow answer for at most 0.3 s.
    with scripted_chat([Late(1.5, "first"), "never asked"]) as fake:
        models, sink = build(
            {"providers": ["openai:one"], "queue_timeout_seconds": 0.3, "timeout_seconds": 10},
            {"openai:one": {"base_url": fake.url, "max_concurrency": 1}},
        )
        role = models.role("extract")
        first, second = await asyncio.gather(
            role.ainvoke("first"), role.ainvoke("second"), return_exceptions=True
        )
        assert len(fake.requests) == 1, "the waiting caller never reached the endpoint"

    assert not isinstance(first, BaseException) and first.text == "first"
    assert isinstance(second, ModelUnavailable)
    assert "roles.extract.queue_timeout_seconds = 0.3s" in str(second)
    answered, gave_up = sorted(sink.decisions, key=lambda d: d.error is not None)
    assert gave_up.error_kind == "queue_timeout" and gave_up.error is not None
    assert gave_up.error.startswith("queue timeout: waited 0.3s for a turn at openai:one")
    assert gave_up.generation_ms is None  # it never generated
    assert gave_up.queue_ms is not None and 300 <= gave_up.queue_ms < 1000
    # The answered call was first in line: its generation is the slow answer, its wait nothing.
    assert answered.queue_ms is not None and answered.queue_ms < 100
    assert answered.generation_ms is not None and answered.generation_ms >= 1500
