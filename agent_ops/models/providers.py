"""Model providers: the seam between a role and whatever answers it.

`openai:` and `local:` providers are both LangChain `ChatOpenAI` against an OpenAI-compatible
endpoint (the local one is our own llama.cpp server on loopback), so production and the offline
default take the same path, token streaming included. `rules:` providers are Python functions.

Token usage is the endpoint's wherever it reports it (`stream_usage=True` asks for it in streamed
answers too). llama-cpp-python's server reports none when streaming, so a local answer without
usage is counted by the local server's tokenizer, after the answer, outside its latency.

Each provider has a `queue` (see `_queue.py`); the role takes a turn there before `answer`, so
`answer`'s `call.time_limit` runs only while the endpoint works on the request.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import BaseModel

from agent_ops.errors import ModelUnavailable
from agent_ops.models._failures import loaded_openai
from agent_ops.models._queue import ModelQueue
from agent_ops.models.config import ProviderKind, ProviderOptions
from agent_ops.models.decisions import NO_TOKENS, TokenUsage, reported_usage
from agent_ops.models.local import CountedTokens

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

log = logging.getLogger(__name__)

Rule = Callable[[Sequence[BaseMessage]], Any]
"""A `rules:` provider: messages in; a str, dict, pydantic model or AIMessage out (may be async)."""


async def _chat_openai() -> type[ChatOpenAI]:
    """`ChatOpenAI`, imported with the first endpoint client, not at start-up (with `openai`,
    about 0.45 s of a 2.7 s start), and in a thread, so the event loop (heartbeats, other runs'
    requests) goes on meanwhile. A process whose roles never reach an endpoint never loads it."""
    if "langchain_openai" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "langchain_openai")
    from langchain_openai import ChatOpenAI

    return ChatOpenAI


def is_retriable(exc: BaseException) -> bool:
    """A failure worth another attempt at the same endpoint; anything else goes to the next
    provider: a time limit, a refused or dropped connection, a rate limit, a 5xx."""
    openai = loaded_openai()
    return isinstance(exc, TimeoutError) or (
        openai is not None
        and isinstance(
            exc,
            openai.APIConnectionError  # includes APITimeoutError
            | openai.RateLimitError
            | openai.InternalServerError,
        )
    )


@dataclass(frozen=True)
class Ask:
    """What a role asks of a provider besides the messages: tools offered (`tool_choice` naming
    one forces it) or a schema the answer must follow (constrained decoding)."""

    tools: Sequence[BaseTool | dict[str, Any]] = ()
    tool_choice: str | None = None
    schema: type[BaseModel] | None = None


@dataclass(frozen=True)
class Call:
    """One asking of a provider: the messages, what is asked besides, the run's config (for
    LangChain's callbacks, so tokens stream) and the seconds the answer may take."""

    messages: Sequence[BaseMessage]
    ask: Ask
    time_limit: float
    config: RunnableConfig | None = None


TokenCounter = Callable[[Mapping[str, Any], str], Awaitable[CountedTokens]]
"""Counts a chat request body's prompt tokens and an answer text's tokens (the local server)."""


def response_format(kind: ProviderKind, schema: type[BaseModel]) -> dict[str, Any]:
    """The constrained-decoding request for `schema` in the endpoint's dialect.

    llama-cpp-python's server turns `json_object` + `schema` into a grammar; OpenAI and vLLM
    take the standard `json_schema` form.
    """
    body = schema.model_json_schema()
    if kind == "local":
        return {"type": "json_object", "schema": body}
    return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": body}}


@dataclass(eq=False)  # a provider is one endpoint: compared (and hashed) by identity
class Provider(ABC):
    """Something that answers chat messages for a role.

    The defaults are those of a provider with nothing to start, no tokens to count beyond those
    an answer reports, and nothing left running after a timeout; each provider overrides what it
    does otherwise.
    """

    spec: str
    kind: ProviderKind
    model: str
    options: ProviderOptions
    queue: ModelQueue
    """Where callers wait their turn; shared by every role that uses the same endpoint."""

    async def ready(self) -> None:
        """Make the endpoint reachable (start a local server); called before queueing."""
        return None

    @abstractmethod
    async def answer(self, call: Call) -> AIMessage:
        """Answer once (no retries) within `call.time_limit` seconds; raise on failure.

        Call it during a turn of `queue`.
        """

    async def usage(self, call: Call, answer: AIMessage) -> TokenUsage:
        """Return the tokens of a call that `answer` answered, and who gave the numbers."""
        return reported_usage(answer) or NO_TOKENS

    async def settle(self, limit: float) -> None:
        """After an answer timed out: return once the endpoint stopped working on it (at most
        `limit` seconds), so the queue's next caller does not wait inside its own time limit."""
        return None


class ChatEndpoint(Provider):
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
        queue: ModelQueue,
        count_tokens: TokenCounter | None = None,
        wait_idle: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(spec, kind, model, options, queue)
        self._base_url = base_url
        self._api_key = api_key
        self._count_tokens = count_tokens
        self._wait_idle = wait_idle
        self._clients: dict[tuple[str, float], ChatOpenAI] = {}

    async def _client(self, time_limit: float) -> ChatOpenAI:
        url = await self._base_url()
        key = (url, time_limit)
        if key not in self._clients:
            # ChatOpenAI sends `max_tokens` as `max_completion_tokens`, which llama-cpp-python's
            # server ignores: a local answer was bounded only by the context window, and a
            # grammar-held answer that loops on whitespace ran for minutes. The local server
            # gets the field it reads.
            local = self.kind == "local"
            limit = self.options.max_tokens
            self._clients[key] = (await _chat_openai())(
                model=self.model,
                base_url=url,
                api_key=self._api_key or "unused",  # type: ignore[arg-type]
                timeout=time_limit,
                max_retries=0,  # the role retries, and records each attempt
                temperature=self.options.temperature,
                max_tokens=None if local else limit,  # type: ignore[call-arg]
                extra_body={"max_tokens": limit} if local and limit is not None else None,
                stream_usage=True,
                # llama-cpp-python's server repeats the function name in every streamed tool-call
                # delta, which merges into a wrong name: take tool calls from the local model whole.
                disable_streaming="tool_calling" if self.kind == "local" else False,
            )
        return self._clients[key]

    async def ready(self) -> None:
        await self._base_url()

    async def answer(self, call: Call) -> AIMessage:
        client = await self._client(call.time_limit)
        async with asyncio.timeout(call.time_limit):
            message = await self._bound(client, call.ask).ainvoke(list(call.messages), call.config)
        assert isinstance(message, AIMessage)
        return message

    async def usage(self, call: Call, answer: AIMessage) -> TokenUsage:
        reported = reported_usage(answer)
        if reported is not None or self._count_tokens is None:
            return reported or NO_TOKENS
        client = await self._client(call.time_limit)
        bound = self._bound(client, call.ask)
        extra = bound.kwargs if isinstance(bound, RunnableBinding) else {}
        # The body ChatOpenAI sent, so the server renders the very prompt it answered.
        body = client._get_request_payload(list(call.messages), **extra)
        try:
            counted = await self._count_tokens(body, answer.text)
        except (ModelUnavailable, httpx.HTTPError) as exc:
            # The answer stands; only its token numbers are lost, and the log says so.
            log.warning("%s: could not count the answer's tokens: %r", self.spec, exc)
            return NO_TOKENS
        return TokenUsage(counted.prompt_tokens, counted.completion_tokens, "counted")

    async def settle(self, limit: float) -> None:
        # A remote endpoint's load is its own affair; a local server keeps decoding an answer
        # whose caller left (llama-cpp-python stops only streamed ones), and `wait_idle` says when
        # it is done.
        if self._wait_idle is not None:
            await self._wait_idle(limit)

    def _bound(self, client: ChatOpenAI, ask: Ask) -> Runnable[LanguageModelInput, BaseMessage]:
        if ask.tools:
            return client.bind_tools(list(ask.tools), tool_choice=ask.tool_choice)
        if ask.schema is not None:
            return client.bind(response_format=response_format(self.kind, ask.schema))
        return client


class RuleProvider(Provider):
    """A deterministic Python rule standing in for a model (cheap, exact, auditable).

    Nothing to start, and a rule cut short by its timeout is not running any more: `ready` and
    `settle` are `Provider`'s; its tokens are those its answer reports, if any.
    """

    def __init__(self, spec: str, name: str, rule: Rule, queue: ModelQueue) -> None:
        super().__init__(spec, "rules", name, ProviderOptions(), queue)
        self._rule = rule

    async def answer(self, call: Call) -> AIMessage:
        async with asyncio.timeout(call.time_limit):
            result = self._rule(call.messages)
            if inspect.isawaitable(result):
                result = await result
        if isinstance(result, AIMessage):
            return result
        if isinstance(result, BaseModel):
            return AIMessage(content=result.model_dump_json())
        if isinstance(result, dict | list):
            return AIMessage(content=json.dumps(result))
        return AIMessage(content=str(result))
