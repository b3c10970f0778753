"""The in-process floor: the same graphs through `ainvoke` with the backend's official checkpointer.

No HTTP, no queue, no run bookkeeping: what is left is what the graph and the checkpointer cost,
the least any server on that backend could take.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from time import perf_counter
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bench.graphs import approve_builder, echo_builder
from bench.samples import MAX_ERRORS, Throughput, Timings
from bench.workload import Plan

Backend = Literal["sqlite", "postgres", "memory"]


@asynccontextmanager
async def checkpointer(
    backend: Backend, *, sqlite_path: Path | None = None, postgres_url: str | None = None, pool: int
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Yield the official async checkpointer of `backend`, set up and ready."""
    if backend == "memory":
        yield InMemorySaver()
    elif backend == "sqlite":
        async with AsyncSqliteSaver.from_conn_string(str(sqlite_path)) as saver:
            await saver.setup()
            yield saver
    else:
        # A pool, not one connection, so the concurrent floor is not serialised on a lock.
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        async with AsyncConnectionPool(
            str(postgres_url), min_size=1, max_size=pool, kwargs=kwargs, open=False
        ) as conn_pool:
            pg_saver = AsyncPostgresSaver(conn_pool)  # type: ignore[arg-type]
            await pg_saver.setup()
            yield pg_saver


def _fresh() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


async def _echo(graph: Any) -> None:
    result = await graph.ainvoke({"messages": [HumanMessage("hi")]}, _fresh())
    if len(result["messages"]) != 2:
        raise AssertionError(f"echo returned {result}")


async def _approve(graph: Any) -> None:
    config = _fresh()
    paused = await graph.ainvoke({"request": "pay invoice 42"}, config)
    if not paused.get("__interrupt__"):
        raise AssertionError(f"approve did not interrupt: {paused}")
    done = await graph.ainvoke(Command(resume="yes"), config)
    if done.get("decision") != "yes":
        raise AssertionError(f"resume of approve returned {done}")


async def _latency(call: Any, plan: Plan, iterations: int) -> Timings:
    timings = Timings()
    for i in range(plan.warmup + iterations):
        await timings.measure(call, keep=i >= plan.warmup)
    return timings


async def _throughput(graph: Any, plan: Plan) -> Throughput:
    result = Throughput(concurrency=plan.concurrency)

    async def worker(deadline: float) -> None:
        while perf_counter() < deadline and len(result.errors) < MAX_ERRORS:
            try:
                await _echo(graph)
            except Exception as exc:  # counted and reported, the other workers go on
                result.errors.append(f"{type(exc).__name__}: {exc}")
            else:
                result.runs += 1

    start = perf_counter()
    await asyncio.gather(*(worker(start + plan.duration) for _ in range(plan.concurrency)))
    result.seconds = perf_counter() - start
    return result


async def run_all(saver: BaseCheckpointSaver[Any], plan: Plan) -> dict[str, Any]:
    """Measure `ainvoke` latency, concurrent throughput and the interrupt round trip."""
    echo = echo_builder().compile(checkpointer=saver)
    approve = approve_builder().compile(checkpointer=saver)
    return {
        "wait_thread": (await _latency(partial(_echo, echo), plan, plan.iterations)).summary(),
        "throughput": (await _throughput(echo, plan)).summary(),
        "interrupt_resume": (
            await _latency(partial(_approve, approve), plan, plan.stream_iterations)
        ).summary(),
    }
