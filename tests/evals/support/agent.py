"""A small support agent for the harness's tests: one model role with two tools. Its `rules:`
provider (`scripted`) stands in for a model and counts how often it is asked, so a test can show
that a replayed run asks no model at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph

from agent_ops.deps import deps_for

ASKED: list[str] = []  # every question the scripted model answered, in order


@tool
def lookup_order(order_id: str) -> str:
    """Look an order up by its number."""
    return f"order {order_id}"


@tool
def escalate(reason: str) -> str:
    """Hand the conversation to a person."""
    return reason


def scripted(messages: Sequence[BaseMessage]) -> AIMessage:
    """Answer like a model would: careful under prompt v1, careless (never escalates) under v2."""
    system = next((m.text for m in messages if isinstance(m, SystemMessage)), "")
    question = messages[-1].text
    ASKED.append(question)
    words = question.split()
    if "angry" in words and "careless" not in system:
        call = {"name": "escalate", "args": {"reason": "angry customer"}, "id": "c1"}
    elif any(w.isdigit() for w in words):
        number = next(w for w in words if w.isdigit())
        call = {"name": "lookup_order", "args": {"order_id": number}, "id": "c1"}
    else:
        return AIMessage(content="see the FAQ")
    return AIMessage(content="", tool_calls=[call])


class State(TypedDict, total=False):
    question: str
    label: str


async def decide(state: State, config: RunnableConfig) -> dict[str, Any]:
    role = deps_for(config).need_models().role("classify").bind_tools([lookup_order, escalate])
    answer = await role.ainvoke(state["question"], config)
    return {"label": answer.tool_calls[0]["name"] if answer.tool_calls else "answer"}


builder = StateGraph(State)
builder.add_node("decide", decide)
builder.add_edge(START, "decide")
builder.add_edge("decide", END)
graph = builder.compile()


def lazy(messages: Sequence[BaseMessage]) -> str:
    """Another "model": never calls a tool."""
    return "see the FAQ"
