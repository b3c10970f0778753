"""A one-node LangGraph graph whose node asks the `respond` role, for tests that need a role call
inside a graph (its token stream, its pause for a person)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agent_ops.models import Models


class Ask(TypedDict, total=False):
    question: str
    answer: str


def respond_graph(models: Models) -> StateGraph[Ask, Any, Ask, Ask]:
    """Return the uncompiled graph: question in, the `respond` role's answer out."""

    async def respond(state: Ask) -> Ask:
        message = await models.role("respond").ainvoke(state["question"])
        return {"answer": message.text}

    builder = StateGraph(Ask)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    builder.add_edge("respond", END)
    return builder
