"""The decision log in both storage backends: recorded model calls read back per run and thread.

Runs once per backend through the `storage` fixture (ids `sqlite` and `postgres`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from agent_ops.storage import ModelDecision, Storage


def decision(run_id: str | None, thread_id: str | None, **changes: object) -> ModelDecision:
    values: dict[str, object] = {
        "decision_id": str(uuid.uuid4()),
        "run_id": run_id,
        "thread_id": thread_id,
        "role": "classify",
        "provider": "openai:gpt-4o-mini",
        "model": "gpt-4o-mini",
        "prompt_name": "classify",
        "prompt_version": "v1",
        "input_hash": "ab" * 32,
        "output": {"content": "invoice", "tool_calls": []},
        "error": None,
        "latency_ms": 12.5,
        "input_tokens": 40,
        "output_tokens": 3,
        "token_source": "provider",
        "cost_usd": 0.00012,
        "created_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    values.update(changes)
    return ModelDecision(**values)  # type: ignore[arg-type]


async def test_decisions_of_a_run_come_back_in_recording_order_with_every_field(
    storage: Storage,
) -> None:
    failed = decision(
        "run-1",
        "thread-1",
        provider="openai:primary",
        output=None,
        error="ConnectError: refused",
        input_tokens=0,
        output_tokens=0,
        token_source="none",
    )
    answered = decision(
        "run-1", "thread-1", provider="local:smollm2", model="smollm2", token_source="counted"
    )
    other_run = decision("run-2", "thread-1")
    for d in (failed, answered, other_run):
        await storage.record_decision(d)

    assert await storage.list_decisions(run_id="run-1") == [failed, answered]
    assert await storage.list_decisions(thread_id="thread-1") == [failed, answered, other_run]
    assert await storage.list_decisions(run_id="run-2", thread_id="thread-1") == [other_run]
    assert await storage.list_decisions(run_id="run-1", thread_id="thread-2") == []


async def test_decision_outside_a_run_is_kept_without_run_or_thread(storage: Storage) -> None:
    loose = decision(None, None, prompt_name=None, prompt_version=None, output={"label": "x"})
    await storage.record_decision(loose)
    assert await storage.list_decisions() == [loose]
    assert await storage.list_decisions(run_id="run-1") == []


async def test_decision_log_outlives_the_thread_it_belongs_to(
    storage: Storage, open_storage: Callable[[], Storage]
) -> None:
    await storage.create_thread(thread_id="t1")
    kept = decision("r1", "t1")
    await storage.record_decision(kept)
    await storage.delete_thread("t1")
    again = open_storage()
    await again.open()
    assert await again.list_decisions(thread_id="t1") == [kept]
