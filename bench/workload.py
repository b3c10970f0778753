"""The client workload: what `langgraph-sdk` users do, timed against one server URL.

Every call is checked for the answer the graph must give, so a server cannot look fast by
skipping work; a wrong answer counts as an error.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from time import perf_counter
from typing import Any

from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamMode

from bench.graphs import REPLY_TOKENS
from bench.samples import MAX_ERRORS, Throughput, Timings

ECHO_INPUT: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}]}
APPROVE_INPUT: dict[str, Any] = {"request": "pay invoice 42"}
CALL_TIMEOUT = 60.0


class WrongAnswer(AssertionError):
    """Raised when a server's answer is not what the bench graph produces."""


@dataclass(frozen=True)
class Plan:
    """How much work each phase does."""

    warmup: int
    iterations: int
    stream_iterations: int
    concurrency: int
    duration: float


def client(url: str) -> LangGraphClient:
    """Return a fresh sdk client for `url` (one per concurrent worker)."""
    return get_client(url=url, timeout=CALL_TIMEOUT)


def _check_echo(result: Any) -> None:
    messages = result.get("messages") if isinstance(result, dict) else None
    if not messages or len(messages) != 2 or messages[-1].get("type") != "ai":
        raise WrongAnswer(f"runs.wait on echo returned {str(result)[:200]}")


async def _echo_wait(sdk: LangGraphClient, thread_id: str | None) -> None:
    if thread_id is None:
        result = await sdk.runs.wait(None, "echo", input=ECHO_INPUT)
    else:
        result = await sdk.runs.wait(thread_id, "echo", input=ECHO_INPUT)
    _check_echo(result)


async def wait_latency(url: str, plan: Plan, *, stateless: bool) -> Timings:
    """Time `runs.wait` on echo, each on a fresh thread (created untimed) or stateless."""
    timings = Timings()
    async with client(url) as sdk:
        for i in range(plan.warmup + plan.iterations):
            thread_id = None if stateless else (await sdk.threads.create())["thread_id"]
            await timings.measure(partial(_echo_wait, sdk, thread_id), keep=i >= plan.warmup)
    return timings


async def throughput(url: str, plan: Plan) -> Throughput:
    """Run `threads.create` + `runs.wait` loops in concurrent workers for `plan.duration`."""
    result = Throughput(concurrency=plan.concurrency)

    async def worker(sdk: LangGraphClient, deadline: float) -> None:
        while perf_counter() < deadline and len(result.errors) < MAX_ERRORS:
            try:
                thread = await sdk.threads.create()
                await _echo_wait(sdk, thread["thread_id"])
            except Exception as exc:  # counted and reported, the other workers go on
                result.errors.append(f"{type(exc).__name__}: {exc}")
            else:
                result.runs += 1

    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(client(url)) for _ in range(plan.concurrency)]
        # One untimed run per client first, so connection set-up is not in the window.
        await asyncio.gather(*(_echo_wait(sdk, None) for sdk in clients))
        cpu, start = time.process_time(), perf_counter()
        await asyncio.gather(*(worker(sdk, start + plan.duration) for sdk in clients))
        result.seconds = perf_counter() - start
        result.client_cpu_seconds = time.process_time() - cpu
    return result


async def _stream_once(
    sdk: LangGraphClient, stream_mode: StreamMode, until: str, firsts: Counter[str]
) -> float:
    """Stream one echo run to its end; return the seconds to its first event or first AI token."""
    thread_id = (await sdk.threads.create())["thread_id"]
    start = perf_counter()
    reached: float | None = None
    events = tokens = 0
    async for part in sdk.runs.stream(thread_id, "echo", input=ECHO_INPUT, stream_mode=stream_mode):
        if events == 0:
            firsts[part.event] += 1
        events += 1
        if part.event == "error":
            raise WrongAnswer(f"stream sent an error event: {part.data}")
        is_token = part.event == "messages" and _is_ai_token(part.data)
        tokens += is_token
        if reached is None and (until == "event" or is_token):
            reached = perf_counter() - start
    if reached is None:
        raise WrongAnswer(f"{stream_mode} stream of {events} events ended before its first {until}")
    if until == "token" and tokens != REPLY_TOKENS:
        raise WrongAnswer(f"messages-tuple stream carried {tokens} tokens, not {REPLY_TOKENS}")
    return reached


def _is_ai_token(data: Any) -> bool:
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return False
    return data[0].get("type") in {"AIMessageChunk", "ai"} and bool(data[0].get("content"))


async def first_event(
    url: str, plan: Plan, *, stream_mode: StreamMode, until: str
) -> dict[str, Any]:
    """Time `runs.stream` on a fresh thread until its first event (`event`) or AI token (`token`)."""
    timings, firsts = Timings(), Counter[str]()
    async with client(url) as sdk:
        for i in range(plan.warmup + plan.stream_iterations):
            call = partial(_stream_once, sdk, stream_mode, until, firsts)
            await timings.measure(call, keep=i >= plan.warmup)
    # The official server opens every stream with `metadata`; anything else is worth seeing.
    return timings.summary() | {"first_event_names": dict(firsts)}


async def _approve_round_trip(sdk: LangGraphClient) -> float:
    thread_id = (await sdk.threads.create())["thread_id"]
    start = perf_counter()
    paused = await sdk.runs.wait(thread_id, "approve", input=APPROVE_INPUT)
    if not isinstance(paused, dict) or not paused.get("__interrupt__"):
        raise WrongAnswer(f"approve did not interrupt: {str(paused)[:200]}")
    done = await sdk.runs.wait(thread_id, "approve", command={"resume": "yes"})
    if not isinstance(done, dict) or done.get("decision") != "yes":
        raise WrongAnswer(f"resume of approve returned {str(done)[:200]}")
    return perf_counter() - start


async def interrupt_round_trip(url: str, plan: Plan) -> Timings:
    """Time `runs.wait` to an interrupt plus `runs.wait` with `command.resume`, together."""
    timings = Timings()
    async with client(url) as sdk:
        for i in range(plan.warmup + plan.stream_iterations):
            await timings.measure(partial(_approve_round_trip, sdk), keep=i >= plan.warmup)
    return timings


async def run_all(url: str, plan: Plan) -> dict[str, Any]:
    """Run every client phase against `url` in turn and return their summaries."""
    results: dict[str, Any] = {}
    results["wait_thread"] = (await wait_latency(url, plan, stateless=False)).summary()
    results["wait_stateless"] = (await wait_latency(url, plan, stateless=True)).summary()
    results["throughput"] = (await throughput(url, plan)).summary()
    results["first_event"] = await first_event(url, plan, stream_mode="values", until="event")
    results["first_token"] = await first_event(
        url, plan, stream_mode="messages-tuple", until="token"
    )
    results["interrupt_resume"] = (await interrupt_round_trip(url, plan)).summary()
    return results
