"""The usual tool-calling agent, as a user's graph would wire our connectors' tools: the model
answers, a ToolNode runs the tools it calls (a connector's error goes back to the model as an
error message), until the model answers without a call. And a scripted model's tool call."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agent_ops.errors import ConnectorError


def tool_agent(
    model: Runnable[Any, BaseMessage], tools: Sequence[BaseTool]
) -> StateGraph[MessagesState]:
    """The agent loop over `model` (its tools bound) and `tools`, not yet compiled."""

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(tools, handle_tool_errors=ConnectorError))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder


def tool_call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """One tool call as an OpenAI-compatible chat answer carries it."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
