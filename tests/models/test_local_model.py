"""The embedded SmolLM2 behind llama.cpp's OpenAI-compatible server, driven by `ChatOpenAI`
through a role, inside a LangGraph graph: tokens stream, and a forced tool call's arguments
always validate against a schema with a pattern and an enum (grammar-constrained decoding)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal, TypedDict

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from tests.models.local_models import LocalModels, models_fixture
from tests.models.respond_graph import respond_graph

pytestmark = pytest.mark.llama


class TicketArgs(BaseModel):
    code: str = Field(pattern=r"^[A-Z]{3}-[0-9]{4}$", description="ticket code, e.g. NET-0042")
    priority: Literal["low", "normal", "urgent"]


@tool(args_schema=TicketArgs)
def file_ticket(code: str, priority: str) -> str:
    """File a support ticket."""
    return f"filed {code} ({priority})"


class Ticket(TypedDict, total=False):
    request: str
    args: dict[str, Any]
    reply: str


local = models_fixture(
    {"providers": {"local:smollm2": {"max_tokens": 48, "temperature": 0.0}}}, scope="module"
)


async def test_smollm2_streams_tokens_and_makes_a_schema_valid_tool_call_in_a_graph(
    local: LocalModels,
) -> None:

    async def extract(state: Ticket) -> Ticket:
        role = local.models.role("extract").bind_tools([file_ticket], tool_choice="file_ticket")
        message = await role.ainvoke(state["request"])
        (call,) = message.tool_calls
        return {"args": call["args"]}

    async def respond(state: Ticket) -> Ticket:
        message = await local.models.role("respond").ainvoke(state["request"])
        return {"reply": message.text}

    builder = StateGraph(Ticket)
    builder.add_node("extract", extract)
    builder.add_node("respond", respond)
    builder.add_edge(START, "extract")
    builder.add_edge("extract", "respond")
    builder.add_edge("respond", END)
    graph = builder.compile()

    chunks: dict[str, list[str]] = {"extract": [], "respond": []}
    first_token: float | None = None
    final: dict[str, Any] = {}
    started = time.perf_counter()
    config = {"configurable": {"run_id": "run-local", "thread_id": "thread-local"}}
    async for mode, item in graph.astream(
        {"request": "My VPN is down and the whole office cannot work. Ticket NET-0042, urgent."},
        config,  # type: ignore[arg-type]
        stream_mode=["messages", "values"],
    ):
        if mode == "messages":
            message, meta = item
            if meta["langgraph_node"] == "respond" and message.content:
                assert isinstance(message, AIMessageChunk)
                first_token = first_token or time.perf_counter()
                chunks["respond"].append(message.text)
            elif meta["langgraph_node"] == "extract":
                # Tool calls of the local model arrive whole (see providers.py).
                assert isinstance(message, AIMessage)
                chunks["extract"].append(str(message.tool_calls))
        else:
            final = item
    elapsed = time.perf_counter() - started

    assert TicketArgs.model_validate(final["args"])  # pattern and enum hold
    assert chunks["extract"], "the tool call arrived through the messages stream"
    assert len(chunks["respond"]) > 3, "the reply streamed token by token"
    assert final["reply"] == "".join(chunks["respond"])
    extract_log, respond_log = local.sink.decisions[-2:]
    assert extract_log.provider == respond_log.provider == "local:smollm2"
    assert extract_log.output is not None
    assert extract_log.output["tool_calls"] == [{"name": "file_ticket", "args": final["args"]}]
    assert (respond_log.run_id, respond_log.thread_id) == ("run-local", "thread-local")
    assert (respond_log.prompt_name, respond_log.prompt_version) == ("respond", "v1")
    assert first_token is not None
    print(
        f"\nlocal model: graph {elapsed:.2f}s; extract {extract_log.latency_ms:.0f} ms;"
        f" respond {respond_log.latency_ms:.0f} ms for {len(chunks['respond'])} chunks"
        f" ({len(chunks['respond']) / (respond_log.latency_ms / 1000):.1f} tokens/s);"
        f" args {final['args']}"
    )


async def test_smollm2_structured_output_is_constrained_to_the_schema(
    local: LocalModels,
) -> None:
    answer = (
        await local.models.role("extract")
        .with_structured_output(TicketArgs)
        .ainvoke("Printer jam on floor 2, ticket PRN-1234, low priority.")
    )
    assert isinstance(answer, TicketArgs)
    last = local.sink.decisions[-1]
    assert last.error is None and last.input_tokens > 0 and last.output_tokens > 0
    rate = last.output_tokens / (last.latency_ms / 1000)
    print(
        f"\nlocal model structured: {last.latency_ms:.0f} ms, {last.output_tokens} tokens, {rate:.1f} tokens/s"
    )


async def test_a_streamed_and_a_plain_call_of_one_prompt_log_the_same_prompt_tokens(
    local: LocalModels,
) -> None:
    question = "What is the capital of France?"
    graph = respond_graph(local.models).compile()

    async def streamed() -> list[str]:
        return [
            message.text
            async for message, _ in graph.astream({"question": question}, stream_mode="messages")
        ]

    # At once: the server must not cut the stream short when the second request arrives.
    chunks, plain = await asyncio.gather(streamed(), local.models.role("respond").ainvoke(question))

    by_source = {d.token_source: d for d in local.sink.decisions[-2:]}
    counted, reported = by_source["counted"], by_source["provider"]
    assert len(chunks) > 3, "the streamed answer came token by token"
    assert "".join(chunks) == plain.text  # greedy: the same answer both ways
    assert counted.input_tokens == reported.input_tokens > 20  # system prompt and question
    # The streamed text re-tokenized: as many tokens as were generated, give or take a merge.
    assert reported.output_tokens > 0
    assert abs(counted.output_tokens - reported.output_tokens) <= 1
    print(
        f"\nlocal model tokens: reported {reported.input_tokens}/{reported.output_tokens},"
        f" counted {counted.input_tokens}/{counted.output_tokens} ({len(chunks)} chunks)"
    )
