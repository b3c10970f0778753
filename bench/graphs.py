"""The two trivial graphs the benchmark runs: `echo` (a streamed 25-token reply) and `approve`.

This file is loaded by every server under test through `langgraph.json`, so it imports only
langgraph and langchain-core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

REPLY_TOKENS = 25
_TOKENS = [f"t{i} " for i in range(REPLY_TOKENS - 1)] + [f"t{REPLY_TOKENS - 1}"]


class TokenModel(BaseChatModel):
    """A fake chat model that answers every prompt with the same 25 tokens."""

    @property
    def _llm_type(self) -> str:
        return "bench-token-model"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(_TOKENS)))])

    # Native async so a non-streaming call does not hop to the thread pool.
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for token in _TOKENS:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for token in _TOKENS:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                await run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


model = TokenModel()


async def respond(state: MessagesState) -> dict[str, list[BaseMessage]]:
    """Answer the conversation with the fake model (streams tokens in `messages` mode)."""
    reply = await model.ainvoke(state["messages"])
    return {"messages": [reply]}


class ApprovalState(TypedDict, total=False):
    request: str
    decision: str


def review(state: ApprovalState) -> ApprovalState:
    """Pause for a human decision, then record it."""
    decision = interrupt({"question": "approve?", "request": state.get("request", "")})
    return {"decision": decision}


def echo_builder() -> StateGraph:
    """Build the uncompiled `echo` graph (the in-process floor compiles it with a checkpointer)."""
    builder = StateGraph(MessagesState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    builder.add_edge("respond", END)
    return builder


def approve_builder() -> StateGraph:
    """Build the uncompiled `approve` graph."""
    builder = StateGraph(ApprovalState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    return builder


echo = echo_builder().compile()
approve = approve_builder().compile()
