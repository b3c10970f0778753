"""Graphs the console tests drive: pauses in each payload format, and chats to stream.

`invoice_review` pauses with the invoice workflow's own review payload (graphs.invoice._review)
over a given invoice and match report, so the page renders what a real review shows without
an ERP; the fake chat models are test doubles for the model, not for anything under test.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypedDict

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import interrupt

from graphs.invoice import _review


class ReviewState(TypedDict, total=False):
    invoice: dict[str, Any]
    match: dict[str, Any]
    status: str
    reason: str
    edited: list[str]


def review(state: ReviewState) -> dict[str, Any]:
    """Pause as the invoice workflow does, then record the reviewer's answer."""
    findings = (state.get("match") or {}).get("findings") or []
    pause = _review.request(
        state["invoice"], findings, _review.headline(state, 0.8), accept_refused=None
    )
    answer = _review.parse(interrupt(pause), state["invoice"], accept_refused=None)
    if isinstance(answer, str):
        return {"status": "needs_review", "reason": answer}
    if answer.kind == "edit":
        assert answer.invoice is not None
        return {"status": "edited", "invoice": answer.invoice, "edited": list(answer.edited)}
    outcome = "approved" if answer.kind == "accept" else "rejected"
    return {"status": outcome, "reason": answer.text or answer.kind}


_review_graph = StateGraph(ReviewState)
_review_graph.add_node("review", review)
_review_graph.add_edge(START, "review")
invoice_review = _review_graph.compile()


class ToolReviewState(TypedDict, total=False):
    to: str
    answer: Any


def ask_tool(state: ToolReviewState) -> dict[str, Any]:
    """Pause in the format of LangChain's HumanInTheLoopMiddleware and keep the answer."""
    answer = interrupt(
        {
            "action_requests": [
                {
                    "name": "send_email",
                    "args": {"to": state.get("to", "ops@example.com"), "subject": "Paid"},
                    "description": "Send the payment notice",
                }
            ],
            "review_configs": [
                {
                    "action_name": "send_email",
                    "allowed_decisions": ["approve", "edit", "reject", "respond"],
                }
            ],
        }
    )
    return {"answer": answer}


_tool_review = StateGraph(ToolReviewState)
_tool_review.add_node("ask_tool", ask_tool)
_tool_review.add_edge(START, "ask_tool")
tool_review = _tool_review.compile()


class SlowChatModel(GenericFakeChatModel):
    """Streams its reply one token every `delay` seconds."""

    delay: float = 0.2

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            await asyncio.sleep(self.delay)
            yield chunk


PO_REPLY = "PO-12 has 3 open lines; the drill line is invoiced at 120.00 against 100.00 ordered."


async def call_tool(state: MessagesState) -> dict[str, Any]:
    call = {"name": "lookup_po", "args": {"number": "PO-12"}, "id": "call-1", "type": "tool_call"}
    return {"messages": [AIMessage("", tool_calls=[call])]}


async def run_tool(state: MessagesState) -> dict[str, Any]:
    result = ToolMessage('{"lines": 3, "open": true}', tool_call_id="call-1", name="lookup_po")
    return {"messages": [result]}


async def answer(state: MessagesState) -> dict[str, Any]:
    model = SlowChatModel(messages=iter([AIMessage(PO_REPLY)]), delay=0.02)
    return {"messages": [await model.ainvoke(state["messages"])]}


_agent = StateGraph(MessagesState)
_agent.add_node("call_tool", call_tool)
_agent.add_node("run_tool", run_tool)
_agent.add_node("answer", answer)
_agent.add_edge(START, "call_tool")
_agent.add_edge("call_tool", "run_tool")
_agent.add_edge("run_tool", "answer")
agent = _agent.compile()

SLOW_REPLY = " ".join(f"slow{i}" for i in range(200))  # 200 tokens, 0.2 s each: 40 s


async def ramble(state: MessagesState) -> dict[str, Any]:
    model = SlowChatModel(messages=iter([AIMessage(SLOW_REPLY)]))
    return {"messages": [await model.ainvoke(state["messages"])]}


_slow = StateGraph(MessagesState)
_slow.add_node("ramble", ramble)
_slow.add_edge(START, "ramble")
slow = _slow.compile()


STEADY_REPLY = " ".join(f"steady{i}" for i in range(40))  # 79 chunks (words, spaces), 0.08 s each


async def steady(state: MessagesState) -> dict[str, Any]:
    model = SlowChatModel(messages=iter([AIMessage(STEADY_REPLY)]), delay=0.08)
    return {"messages": [await model.ainvoke(state["messages"])]}


_steady = StateGraph(MessagesState)
_steady.add_node("steady", steady)
_steady.add_edge(START, "steady")
steady_chat = _steady.compile()


class PairState(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]


def _asker(name: str) -> Any:
    def ask(state: PairState) -> dict[str, Any]:
        return {"answers": [f"{name}: {interrupt({'question': f'{name}?'})}"]}

    return ask


# Two branches in one step, each pausing: the thread holds two interrupts at once.
_pair = StateGraph(PairState)
_pair.add_node("legal", _asker("legal"))
_pair.add_node("finance", _asker("finance"))
_pair.add_edge(START, "legal")
_pair.add_edge(START, "finance")
pair = _pair.compile()
