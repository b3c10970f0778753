"""Why an attempt failed and where its time went, kept by both storage backends (migration 0007):
a role's decisions go straight into the storage as its sink and come back with every field.

Runs once per backend through the `storage` fixture (ids `sqlite` and `postgres`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent_ops.errors import ModelUnavailable
from agent_ops.models import Models, ModelsConfig
from agent_ops.settings import Settings
from agent_ops.storage import Storage
from tests.models.fakes import Late, closed_port, scripted_chat

PROMPTS = Path(__file__).parents[2] / "prompts"


async def test_failure_kinds_and_queue_and_generation_times_are_stored_and_read_back(
    storage: Storage,
) -> None:
    with scripted_chat([Late(1.0, "too late"), "in time"]) as fake:
        config = ModelsConfig.model_validate(
            {
                "roles": {
                    "respond": {
                        "providers": ["openai:down", "openai:slow"],
                        "timeout_seconds": 0.3,
                        "retries": 1,
                        "backoff_seconds": 0.01,
                        "on_failure": "error",
                    }
                },
                "providers": {
                    "openai:down": {"base_url": f"http://127.0.0.1:{closed_port()}/v1"},
                    "openai:slow": {"base_url": fake.url},
                },
            }
        )
        models = Models(config, Settings(prompts_dir=PROMPTS), storage)
        answer = await models.role("respond").ainvoke(
            "Was invoice 7 paid?", {"configurable": {"run_id": "r1", "thread_id": "t1"}}
        )
    assert answer.text == "in time"

    stored = await storage.list_decisions(run_id="r1")
    assert [(d.provider, d.error_kind) for d in stored] == [
        ("openai:down", "connection_refused"),
        ("openai:down", "connection_refused"),
        ("openai:slow", "generation_timeout"),
        ("openai:slow", None),
    ]
    refused, _, timed_out, answered = stored
    assert refused.error is not None and refused.error.startswith("connection refused: ")
    assert timed_out.error == (
        "generation timeout: no complete answer within 0.3s of generation"
        " (roles.respond.timeout_seconds)"
    )
    assert timed_out.generation_ms is not None and timed_out.generation_ms >= 300
    for d in stored:
        # Nobody else is in line, so the queue time stays below the slow answer's 1 s (a queue time
        # that counted generation would reach it); the bound leaves room for a loaded machine.
        assert d.queue_ms is not None and 0 <= d.queue_ms < 1000
        assert d.generation_ms is not None and d.queue_ms + d.generation_ms <= d.latency_ms + 1


async def test_a_queue_timeout_is_stored_without_a_generation_time(storage: Storage) -> None:
    with scripted_chat([Late(1.0, "first")]) as fake:
        config = ModelsConfig.model_validate(
            {
                "roles": {
                    # Two roles on one provider that takes one call at a time: one line.
                    "respond": {"providers": ["openai:one"], "on_failure": "error"},
                    "judge": {
                        "providers": ["openai:one"],
                        "queue_timeout_seconds": 0.2,
                        "on_failure": "error",
                    },
                },
                "providers": {"openai:one": {"base_url": fake.url, "max_concurrency": 1}},
            }
        )
        models = Models(config, Settings(prompts_dir=PROMPTS), storage)
        run = {"configurable": {"run_id": "r2"}}
        first, second = await asyncio.gather(
            models.role("respond").ainvoke("first", run),
            models.role("judge").ainvoke("second", run),
            return_exceptions=True,
        )
    assert not isinstance(first, BaseException) and first.text == "first"
    assert isinstance(second, ModelUnavailable)
    stored = {d.role: d for d in await storage.list_decisions(run_id="r2")}
    gave_up = stored["judge"]
    assert gave_up.error_kind == "queue_timeout" and gave_up.generation_ms is None
    assert gave_up.queue_ms is not None and gave_up.queue_ms >= 200
    assert gave_up.error is not None
    assert "roles.judge.queue_timeout_seconds = 0.2s" in gave_up.error
    assert stored["respond"].generation_ms is not None and stored["respond"].generation_ms >= 1000
