"""Graphs that call model roles, served by a real agent-ops in the decision-log API tests."""

from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from agent_ops.deps import deps_for


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


async def respond(state: Chat, config: RunnableConfig) -> Chat:
    models = deps_for(config).need_models()
    return {"messages": [await models.role("respond").ainvoke(state["messages"])]}


async def judge(state: Chat, config: RunnableConfig) -> Chat:
    models = deps_for(config).need_models()
    return {"messages": [await models.role("judge").ainvoke(state["messages"])]}


def _one_node(name: str, node: object) -> StateGraph[Chat]:
    builder = StateGraph(Chat)
    builder.add_node(name, node)  # type: ignore[call-overload]
    builder.add_edge(START, name)
    builder.add_edge(name, END)
    return builder


reply = _one_node("respond", respond).compile()
review = _one_node("judge", judge).compile()
