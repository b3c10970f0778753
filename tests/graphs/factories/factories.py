"""Graph factories in every form the LangGraph server calls (tests/runtime/test_graph_factories.py).

Each records what it was given and, for the context managers, when it was left, in a JSON
lines file named by the `FACTORY_LOG` environment variable, so a test can read from another
process what the server did.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph_sdk.runtime import ServerRuntime


class Count(TypedDict):
    x: int


def _inc(state: Count) -> dict[str, Any]:
    return {"x": state["x"] + 1}


def _builder() -> StateGraph[Count]:
    graph = StateGraph(Count)
    graph.add_node("inc", _inc)
    graph.add_edge(START, "inc")
    return graph


def _note(**fields: Any) -> None:
    with open(os.environ["FACTORY_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(fields, default=str) + "\n")


def _runtime_fields(runtime: Any) -> dict[str, Any]:
    run = runtime.execution_runtime
    return {
        "access": runtime.access_context,
        "context": None if run is None else run.context,
        "has_store": runtime.store is not None,
    }


uncompiled = _builder()


def plain() -> Any:
    return _builder().compile()


def with_config(config: RunnableConfig) -> Any:
    _note(factory="with_config", thread_id=config["configurable"].get("thread_id"))
    return _builder().compile()


def with_runtime(runtime: ServerRuntime) -> Any:
    _note(factory="with_runtime", **_runtime_fields(runtime))
    return _builder().compile()


async def both(runtime: ServerRuntime, config: RunnableConfig) -> Any:
    _note(
        factory="both", graph_id=config["configurable"].get("graph_id"), **_runtime_fields(runtime)
    )
    return _builder().compile()


@contextlib.asynccontextmanager
async def async_resource(config: RunnableConfig) -> AsyncIterator[Any]:
    _note(factory="async_resource", event="enter")
    try:
        yield _builder().compile()
    finally:
        _note(factory="async_resource", event="exit")


@contextlib.contextmanager
def sync_resource(runtime: ServerRuntime) -> Iterator[Any]:
    _note(factory="sync_resource", event="enter", access=runtime.access_context)
    yield _builder().compile()
    _note(factory="sync_resource", event="exit")


def failing(config: RunnableConfig) -> Any:
    raise RuntimeError("the model catalogue is unreachable")


@contextlib.asynccontextmanager
async def failing_on_exit() -> AsyncIterator[Any]:
    yield _builder().compile()
    raise RuntimeError("the connection pool would not close")
