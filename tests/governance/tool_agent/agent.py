"""A tool-calling agent that reads an e-mail: the model (a scripted chat endpoint in the tests)
sees the mail and the tools, and whatever tool calls it answers are carried out by a ToolNode.

One graph under three ids (langgraph.json): `mail_agent`, which no allow-list names,
`vendor_clerk`, which the tests' settings allow to change a vendor's bank account, and
`payments_clerk`, allowed to pay supplier invoices in Tryton. With `confirm` in its input it
asks a person (an interrupt) before carrying out the model's tool calls. The tools and
the chat endpoint come per run from the runtime's deps, as a deployment's connectors would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import interrupt

from agent_ops.deps import deps_for


@dataclass(frozen=True)
class AgentKit:
    """What the agent works with: its tools and the chat endpoint that decides."""

    tools: list[BaseTool]
    chat_url: str


class State(MessagesState, total=False):
    email: str
    confirm: bool  # ask a person (interrupt) before carrying out the model's tool calls


def _kit(config: RunnableConfig) -> Any:
    # An AgentKit; the registry loads this file as its own module, so the tests' AgentKit is
    # another class of the same shape.
    return deps_for(config).need("connectors")


async def read_mail(state: State) -> dict[str, Any]:
    return {"messages": [HumanMessage(f"Handle this vendor e-mail:\n\n{state['email']}")]}


async def agent(state: State, config: RunnableConfig) -> dict[str, Any]:
    kit = _kit(config)
    model = ChatOpenAI(base_url=kit.chat_url, api_key="test", model="fake", max_retries=0)
    return {"messages": [await model.bind_tools(kit.tools).ainvoke(state["messages"])]}


def route(state: State) -> str:
    if tools_condition(state) == END:
        return END
    return "confirm" if state.get("confirm") else "tools"


async def confirm(state: State) -> dict[str, Any]:
    calls = [call["name"] for call in getattr(state["messages"][-1], "tool_calls", [])]
    interrupt({"action_request": {"action": "run_tools", "args": {"calls": calls}}})
    return {}


async def tools(state: State, config: RunnableConfig) -> dict[str, Any]:
    result: dict[str, Any] = await ToolNode(_kit(config).tools).ainvoke(state, config)
    return result


builder = StateGraph(State)
builder.add_node("read_mail", read_mail)
builder.add_node("agent", agent)
builder.add_node("confirm", confirm)
builder.add_node("tools", tools)
builder.add_edge(START, "read_mail")
builder.add_edge("read_mail", "agent")
builder.add_conditional_edges("agent", route, ["confirm", "tools", END])
builder.add_edge("confirm", "tools")
builder.add_edge("tools", "agent")
graph = builder.compile()
