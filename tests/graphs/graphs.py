"""Graphs the tests run through the server. The fake chat model is a test double for graph logic."""

from __future__ import annotations

import asyncio
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.types import interrupt

from agent_ops.deps import deps_for
from tools.config import Connectors

REPLY = " ".join(f"w{i}" for i in range(25))  # 25 tokens, streamed one by one


def _chain(state: type[Any], *nodes: tuple[str, Any]) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A graph over `state` that runs `nodes` (name, node) one after another from START."""
    return StateGraph(state).add_sequence(list(nodes)).add_edge(START, nodes[0][0]).compile()


async def respond(state: MessagesState) -> dict[str, Any]:
    model = GenericFakeChatModel(messages=iter([AIMessage(REPLY)]))
    return {"messages": [await model.ainvoke(state["messages"])]}


echo = _chain(MessagesState, ("respond", respond))


# The echo graph as one node of a parent graph: its events and chunks come from a subgraph.
nested = _chain(MessagesState, ("inner", echo))


def ask(state: MessagesState) -> dict[str, Any]:
    answer = interrupt({"question": "approve?"})
    return {"messages": [AIMessage(f"answer: {answer}")]}


approve = _chain(MessagesState, ("ask", ask))


def explode(state: MessagesState) -> dict[str, Any]:
    raise ValueError("invoice total 120.00 does not match lines 100.00")


fail = _chain(MessagesState, ("explode", explode))


class StepState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _markers(config: RunnableConfig) -> Path:
    return Path(config["configurable"]["marker_dir"])


def _mark(config: RunnableConfig, name: str) -> None:
    with (_markers(config) / name).open("a") as handle:
        handle.write("x")


async def first(state: StepState, config: RunnableConfig) -> dict[str, Any]:
    """A side effect that must happen once per run, however often the run is retried."""
    _mark(config, "first")
    return {"log": ["first"]}


async def second(state: StepState, config: RunnableConfig) -> dict[str, Any]:
    """A long step: marks its start, then sleeps `sleep` seconds (only the first time)."""
    retried = (_markers(config) / "second-started").exists()
    _mark(config, "second-started")
    if not retried:
        await asyncio.sleep(float(config["configurable"].get("sleep", 0)))
    _mark(config, "second-done")
    return {"log": ["second"]}


steps = _chain(StepState, ("first", first), ("second", second))


class NoteState(TypedDict, total=False):
    key: str
    text: str
    question: str
    nearest: list[str]
    recalled: list[str]


async def remember(state: NoteState, *, store: BaseStore) -> dict[str, Any]:
    """Write a note to the server's store, then find the notes nearest to it (async API)."""
    await store.aput(("notes",), state["key"], {"text": state["text"]})
    hits = await store.asearch(("notes",), query=state["text"], limit=3)
    return {"nearest": [hit.key for hit in hits]}


def recall(state: NoteState, *, store: BaseStore) -> dict[str, Any]:
    """Search the store from a sync node (run in a thread by LangGraph)."""
    hits = store.search(("notes",), query=state["question"], limit=1)
    return {"recalled": [hit.key for hit in hits]}


notes = _chain(NoteState, ("remember", remember), ("recall", recall))


class DepsState(TypedDict, total=False):
    question: str
    answer: str
    public_url: str
    erp_database: str


async def read_deps(state: DepsState, config: RunnableConfig) -> dict[str, Any]:
    """A user's own graph reaching what the runtime gives every run: the model layer (its
    `respond` role answers), the connectors config and the server's public URL."""
    deps = deps_for(config)
    reply = await deps.need_models().role("respond").ainvoke(state.get("question") or "hello")
    connectors = deps.connectors
    tryton = connectors.config.tryton if isinstance(connectors, Connectors) else None
    return {
        "answer": str(reply.content),
        "public_url": deps.need("public_url"),
        "erp_database": tryton.database if tryton is not None else "",
    }


deps = _chain(DepsState, ("read_deps", read_deps))


# A context schema and input/output schemas, all `typing` TypedDicts and a dataclass: the
# shapes whose JSON schemas pydantic refuses on Python 3.11 (`GET /assistants/{id}/schemas`).
@dataclass
class Ctx:
    user: str = "nobody"
    tone: str = "plain"


class Question(TypedDict):
    question: str


class Answer(TypedDict):
    answer: str


class Asked(Question, Answer):
    scratch: str


def answer(state: Asked, runtime: Runtime[Ctx]) -> dict[str, Any]:
    context = runtime.context or Ctx()
    return {"answer": f"{context.tone}:{context.user}:{state['question']}", "scratch": "x"}


contextual = (
    StateGraph(Asked, context_schema=Ctx, input_schema=Question, output_schema=Answer)
    .add_node("answer", answer)
    .add_edge(START, "answer")
    .compile()
)

# The contextual graph as a node of a parent graph, for `GET /assistants/{id}/subgraphs`.
wrapped = _chain(Asked, ("inner", contextual))
