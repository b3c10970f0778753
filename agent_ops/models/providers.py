"""Model providers: the seam between a role and whatever answers it.

`openai:` and `local:` providers are both LangChain `ChatOpenAI` against an OpenAI-compatible
endpoint (the local one is our own llama.cpp server on loopback), so production and the offline
default take the same path, token streaming included. `rules:` providers are Python functions.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import openai
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from agent_ops.models.config import ProviderKind, ProviderOptions

Rule = Callable[[Sequence[BaseMessage]], Any]
"""A `rules:` provider: messages in; a str, dict, pydantic model or AIMessage out (may be async)."""

# Failures worth another attempt at the same endpoint; anything else goes to the next provider.
RETRIABLE: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.RateLimitError,
    openai.InternalServerError,
    TimeoutError,
)


class Provider(Protocol):
    """Something that answers chat messages for a role."""

    spec: str
    kind: ProviderKind
    model: str
    options: ProviderOptions

    async def answer(
        self,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[BaseTool | dict[str, Any]] = (),
        tool_choice: str | None = None,
        schema: type[BaseModel] | None = None,
        config: RunnableConfig | None = None,
        time_limit: float,
    ) -> AIMessage:
        """Answer once (no retries); raise on failure."""
        ...


def response_format(kind: ProviderKind, schema: type[BaseModel]) -> dict[str, Any]:
    """The constrained-decoding request for `schema` in the endpoint's dialect.

    llama-cpp-python's server turns `json_object` + `schema` into a grammar; OpenAI and vLLM
    take the standard `json_schema` form.
    """
    body = schema.model_json_schema()
    if kind == "local":
        return {"type": "json_object", "schema": body}
    return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": body}}


class ChatEndpoint:
    """An OpenAI-compatible chat endpoint reached through `ChatOpenAI`."""

    def __init__(
        self,
        spec: str,
        kind: ProviderKind,
        model: str,
        options: ProviderOptions,
        *,
        base_url: Callable[[], Awaitable[str]],
        api_key: str | None,
    ) -> None:
        self.spec = spec
        self.kind = kind
        self.model = model
        self.options = options
        self._base_url = base_url
        self._api_key = api_key
        self._clients: dict[tuple[str, float], ChatOpenAI] = {}

    async def _client(self, time_limit: float) -> ChatOpenAI:
        url = await self._base_url()
        key = (url, time_limit)
        if key not in self._clients:
            self._clients[key] = ChatOpenAI(
                model=self.model,
                base_url=url,
                api_key=self._api_key or "unused",  # type: ignore[arg-type]
                timeout=time_limit,
                max_retries=0,  # the role retries, and records each attempt
                temperature=self.options.temperature,
                max_tokens=self.options.max_tokens,  # type: ignore[call-arg]
                stream_usage=True,
                # llama-cpp-python's server repeats the function name in every streamed tool-call
                # delta, which merges into a wrong name: take tool calls from the local model whole.
                disable_streaming="tool_calling" if self.kind == "local" else False,
            )
        return self._clients[key]

    async def answer(
        self,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[BaseTool | dict[str, Any]] = (),
        tool_choice: str | None = None,
        schema: type[BaseModel] | None = None,
        config: RunnableConfig | None = None,
        time_limit: float,
    ) -> AIMessage:
        client = await self._client(time_limit)
        runnable: Any = client
        if tools:
            runnable = client.bind_tools(list(tools), tool_choice=tool_choice)
        elif schema is not None:
            runnable = client.bind(response_format=response_format(self.kind, schema))
        async with asyncio.timeout(time_limit):
            message = await runnable.ainvoke(list(messages), config)
        assert isinstance(message, AIMessage)
        return message


class RuleProvider:
    """A deterministic Python rule standing in for a model (cheap, exact, auditable)."""

    kind: ProviderKind = "rules"

    def __init__(self, spec: str, name: str, rule: Rule) -> None:
        self.spec = spec
        self.model = name
        self.options = ProviderOptions()
        self._rule = rule

    async def answer(
        self,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[BaseTool | dict[str, Any]] = (),
        tool_choice: str | None = None,
        schema: type[BaseModel] | None = None,
        config: RunnableConfig | None = None,
        time_limit: float,
    ) -> AIMessage:
        async with asyncio.timeout(time_limit):
            result = self._rule(messages)
            if inspect.isawaitable(result):
                result = await result
        if isinstance(result, AIMessage):
            return result
        if isinstance(result, BaseModel):
            return AIMessage(content=result.model_dump_json())
        if isinstance(result, dict | list):
            return AIMessage(content=json.dumps(result))
        return AIMessage(content=str(result))
