"""The embedded SmolLM2 server under concurrency: callers of every role share its one queue, a
time limit runs only while the server generates, and every failure says why (the server died, a
generation ran past its seconds, the queue bound was reached)."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from agent_ops.errors import ModelUnavailable
from agent_ops.models import LocalModelServer
from tests.models.local_models import LocalModels, models_fixture

pytestmark = pytest.mark.llama

STORY = "Write a long story about a lighthouse keeper and a storm, with many details."


class Extracted(BaseModel):
    """Extraction-shaped: fields held to patterns, as the invoice workflow holds the model (kept
    small, so eight answers fit in a test on two shared cores)."""

    vendor_name: str = Field(min_length=1, max_length=40)
    invoice_number: str = Field(pattern=r"^[A-Z0-9-]{1,12}$")
    currency: Literal["EUR", "USD", "GBP"]
    total: str = Field(pattern=r"^[0-9]{1,6}[.][0-9]{2}$")


def invoice(i: int) -> str:
    bolts = 2 + i
    return (
        f"ACME Supplies Ltd, 12 Harbour Road, Leeds\nINVOICE No. INV-{1000 + i}\n"
        f"Date: 2026-11-{10 + i:02d}\nBill to: Northwind GmbH\n"
        f"{bolts} x Steel bolts M8 @ 1.50 = {bolts * 1.5:.2f} EUR\n1 x Delivery = 12.00 EUR\n"
        f"Total due: {bolts * 1.5 + 12:.2f} EUR\n"
    )


async def turn_taken(server: LocalModelServer) -> None:
    """Return once a caller holds a turn at `server` (its request is on the way)."""
    for _ in range(3000):
        if server.queue.busy:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no caller took a turn at {server.name} within 30s")


ONE_TRY = {"retries": 0, "repair_attempts": 0, "on_failure": "error"}


def _config(max_tokens: int) -> dict[str, Any]:
    """Models of five roles on the one local server; the answers are held to `max_tokens`."""
    return {
        "roles": {
            # Two roles on one server: they share its queue.
            "extract": {"prompt": "extract", "queue_timeout_seconds": 900} | ONE_TRY,
            "classify": {"prompt": "extract", "queue_timeout_seconds": 900} | ONE_TRY,
            "respond": {"prompt": "respond", "timeout_seconds": 120} | ONE_TRY,
            "judge": {"prompt": "respond", "timeout_seconds": 0.5} | ONE_TRY,
            "route": {"prompt": "extract", "queue_timeout_seconds": 0.5} | ONE_TRY,
        },
        "providers": {"local:smollm2": {"max_tokens": max_tokens, "temperature": 0.0}},
    }


local = models_fixture(_config(64), started=True)
# Answers of up to 1,024 tokens: a story still being written when the server is killed, however
# quiet the machine (64 tokens can be done within a second).
local_long = models_fixture(_config(1024), started=True)


async def test_eight_concurrent_extractions_take_turns_and_none_times_out_waiting(
    local: LocalModels,
) -> None:
    server = local.server
    roles = [
        local.models.role("extract" if i % 2 else "classify").with_structured_output(Extracted)
        for i in range(8)
    ]
    most_busy = 0

    async def watch() -> None:
        nonlocal most_busy
        while True:
            most_busy = max(most_busy, server.queue.busy)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    results = await asyncio.gather(
        *(role.ainvoke(invoice(i)) for i, role in enumerate(roles)), return_exceptions=True
    )
    wall_ms = (time.perf_counter() - started) * 1000
    watcher.cancel()

    assert len(local.sink.decisions) == 8
    assert most_busy == 1, "the server was never asked two things at once"
    queue = [d.queue_ms or 0.0 for d in local.sink.decisions]
    generation = [d.generation_ms or 0.0 for d in local.sink.decisions]
    for d in local.sink.decisions:
        assert d.queue_ms is not None and d.generation_ms is not None
        # The attempt's time is its wait plus its generation, and nothing is counted twice.
        assert d.queue_ms + d.generation_ms <= d.latency_ms + 1
        assert d.latency_ms - (d.queue_ms + d.generation_ms) < 1000
        if d.error is not None:
            assert d.error_kind is not None and d.error_kind != "error", d.error
            assert d.error_kind != "queue_timeout", d.error
            if d.error_kind == "generation_timeout":
                # Timed out generating for its whole limit, not waiting in line.
                assert d.generation_ms >= 60_000, d
    # One at a time: generations do not overlap, and the last in line waited for all the others.
    assert sum(generation) <= wall_ms * 1.02
    last = queue.index(max(queue))
    assert max(queue) >= 0.95 * (sum(generation) - generation[last])
    completed = sum(not isinstance(r, BaseException) for r in results)
    failed = [d.error for d in local.sink.decisions if d.error]
    print(
        f"\n8 concurrent extractions: {completed}/8 completed in {wall_ms / 1000:.1f}s;"
        f" queue wait p50 {statistics.median(queue) / 1000:.1f}s max {max(queue) / 1000:.1f}s;"
        f" generation p50 {statistics.median(generation) / 1000:.1f}s"
        f" max {max(generation) / 1000:.1f}s; failures: {failed}"
    )


async def test_a_server_killed_mid_answer_is_reported_as_server_died(
    local_long: LocalModels,
) -> None:
    server = local_long.server
    pid = server.pid
    assert pid is not None
    call = asyncio.create_task(local_long.models.role("respond").ainvoke(STORY))
    await turn_taken(server)
    await asyncio.sleep(1.5)  # the request is at the server, which is generating
    assert not call.done(), "the story was finished before the server could be killed"
    os.kill(pid, signal.SIGKILL)

    with pytest.raises(ModelUnavailable, match="local:smollm2: server died: ") as caught:
        await call

    (died,) = local_long.sink.decisions
    assert died.error_kind == "server_died"
    assert died.error is not None and "RemoteProtocolError" in died.error
    assert str(caught.value).endswith(died.error)
    assert died.generation_ms is not None and died.generation_ms >= 1500


async def test_a_tiny_generation_timeout_names_its_seconds_and_leaves_the_server_free(
    local: LocalModels,
) -> None:
    server = local.server
    with pytest.raises(ModelUnavailable, match=r"within 0\.5s of generation"):
        await local.models.role("judge").ainvoke(STORY)

    (timed_out,) = local.sink.decisions
    assert timed_out.error_kind == "generation_timeout"
    assert timed_out.error == (
        "generation timeout: no complete answer within 0.5s of generation"
        " (roles.judge.timeout_seconds)"
    )
    assert timed_out.generation_ms is not None and 500 <= timed_out.generation_ms < 3000
    # The server went on with the abandoned answer; the turn was held until it finished, so
    # the server is free now and the next caller's limit is spent on its own answer.
    idle = time.perf_counter()
    await server.wait_idle(60)
    assert time.perf_counter() - idle < 1.0


async def test_roles_on_one_server_share_its_queue_and_a_full_queue_names_its_setting(
    local: LocalModels,
) -> None:
    server = local.server
    story = asyncio.create_task(local.models.role("respond").ainvoke(STORY))
    await turn_taken(server)

    with pytest.raises(ModelUnavailable) as caught:
        await local.models.role("route").ainvoke("Route: invoice or complaint?")
    answer = await story

    message = str(caught.value)
    assert "queue timeout: waited 0.5s for a turn at local:smollm2 (1 at a time, 1 ahead" in message
    assert "roles.route.queue_timeout_seconds = 0.5s" in message
    gave_up, answered = local.sink.decisions
    assert gave_up.error_kind == "queue_timeout" and gave_up.generation_ms is None
    # The max_tokens bound holds on the local server (64 tokens, counted).
    assert answered.error is None and 0 < answered.output_tokens <= 65
    assert answer.text.strip()
