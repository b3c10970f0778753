"""A role at call time: its prompt, its providers in fallback order, and the rules of trying.

Each provider gets `1 + retries` attempts on retriable errors (connection, timeout, 429, 5xx)
with doubling backoff, under a per-provider concurrency limit and a per-attempt timeout. An
answer that does not validate (structured output, tool arguments) is re-asked with the
validation error up to `repair_attempts` times. When every provider has failed the role raises
`ModelUnavailable`, or, with `on_failure: human_review` inside a graph, pauses the run with
`interrupt()` so that a person answers instead. Every attempt lands in the decision log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp
from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError

from agent_ops.errors import BadRequest, InvalidInput, ModelUnavailable, validation_text
from agent_ops.models.config import RoleConfig
from agent_ops.models.decisions import (
    NO_TOKENS,
    CallContext,
    DecisionSink,
    TokenUsage,
    input_hash,
    message_output,
)
from agent_ops.models.prompts import Prompt
from agent_ops.models.providers import RETRIABLE, Provider

log = logging.getLogger(__name__)
T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)

REPAIR = (
    "Your previous answer was not valid: {error}\n"
    "Answer again, correcting exactly that, in the required format and nothing else."
)


class _Invalid(Exception):
    """An answer arrived but did not validate; carries it for the repair re-ask."""

    def __init__(self, message: AIMessage, error: str) -> None:
        super().__init__(error)
        self.message = message


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _to_messages(value: LanguageModelInput) -> list[BaseMessage]:
    if isinstance(value, str):
        return [HumanMessage(content=value)]
    if isinstance(value, PromptValue):
        return value.to_messages()
    return list(convert_to_messages(value))


class _Caller:
    """The attempt/retry/repair/fallback loop shared by chat and structured calls."""

    def __init__(
        self,
        name: str,
        config: RoleConfig,
        providers: Sequence[Provider],
        prompt: Prompt | None,
        prompt_values: Mapping[str, object],
        sink: DecisionSink,
        limits: Mapping[str, asyncio.Semaphore],
    ) -> None:
        self.name = name
        self.config = config
        self.providers = list(providers)
        self.prompt = prompt
        self.prompt_values = dict(prompt_values)
        self.sink = sink
        self.limits = limits

    def messages(self, value: LanguageModelInput) -> list[BaseMessage]:
        messages = _to_messages(value)
        if self.prompt is not None:
            messages.insert(0, SystemMessage(content=self.prompt.render(**self.prompt_values)))
        return messages

    def context(
        self, messages: Sequence[BaseMessage], config: RunnableConfig, extra: Mapping[str, Any]
    ) -> CallContext:
        configurable = config.get("configurable") or {}
        return CallContext(
            role=self.name,
            run_id=configurable.get("run_id"),
            thread_id=configurable.get("thread_id"),
            prompt_name=self.prompt.name if self.prompt else None,
            prompt_version=self.prompt.version if self.prompt else None,
            input_hash=input_hash(messages, extra),
        )

    async def call(
        self,
        messages: list[BaseMessage],
        ctx: CallContext,
        config: RunnableConfig,
        check: Callable[[AIMessage], T],
        **request: Any,
    ) -> tuple[AIMessage, T]:
        """Try each provider in order; return the first valid answer and what `check` made of it."""
        errors: list[str] = []
        for provider in self.providers:
            conversation = list(messages)
            for _repair in range(self.config.repair_attempts + 1):
                try:
                    return await self._attempt(provider, conversation, ctx, config, check, request)
                except _Invalid as invalid:
                    errors.append(f"{provider.spec}: invalid answer: {invalid}")
                    conversation += [
                        AIMessage(content=_as_text(invalid.message)),
                        HumanMessage(content=REPAIR.format(error=invalid)),
                    ]
                except GraphBubbleUp:
                    raise
                except Exception as exc:
                    errors.append(f"{provider.spec}: {_describe(exc)}")
                    break
        return await self._exhausted(errors, messages, ctx, check)

    async def _attempt(
        self,
        provider: Provider,
        messages: list[BaseMessage],
        ctx: CallContext,
        config: RunnableConfig,
        check: Callable[[AIMessage], T],
        request: Mapping[str, Any],
    ) -> tuple[AIMessage, T]:
        delay = self.config.backoff_seconds
        for attempt in range(self.config.retries + 1):
            started = time.perf_counter()
            try:
                async with self.limits[provider.spec]:
                    message = await provider.answer(
                        messages, config=config, time_limit=self.config.timeout_seconds, **request
                    )
            except GraphBubbleUp:
                raise
            except Exception as exc:
                latency_ms = (time.perf_counter() - started) * 1000
                await self._record(ctx, provider, latency_ms, None, _describe(exc), NO_TOKENS)
                if not isinstance(exc, RETRIABLE) or attempt == self.config.retries:
                    raise
                log.info("role %s: %s failed (%s); retrying", self.name, provider.spec, exc)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            latency_ms = (time.perf_counter() - started) * 1000
            usage = await provider.usage(
                messages, message, time_limit=self.config.timeout_seconds, **request
            )
            try:
                value = check(message)
            except (ValidationError, ValueError) as exc:
                error = validation_text(exc, top="answer")
                await self._record(
                    ctx, provider, latency_ms, message, f"invalid answer: {error}", usage
                )
                raise _Invalid(message, error) from None
            await self._record(ctx, provider, latency_ms, message, None, usage)
            return message, value
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _record(
        self,
        ctx: CallContext,
        provider: Provider,
        latency_ms: float,
        message: AIMessage | None,
        error: str | None,
        usage: TokenUsage,
    ) -> None:
        options = provider.options
        await self.sink.record_decision(
            ctx.decision(
                provider=provider.spec,
                model=provider.model,
                output=None if message is None else message_output(message),
                error=error,
                latency_ms=latency_ms,
                usage=usage,
                cost_usd=usage.cost(options.input_cost_per_1k, options.output_cost_per_1k),
            )
        )

    async def _exhausted(
        self,
        errors: list[str],
        messages: list[BaseMessage],
        ctx: CallContext,
        check: Callable[[AIMessage], T],
    ) -> tuple[AIMessage, T]:
        reason = f"every provider of model role {self.name!r} failed: " + "; ".join(errors)
        if self.config.on_failure != "human_review" or not _in_graph():
            raise ModelUnavailable(reason)
        log.warning("%s; asking a person", reason)
        answer = interrupt(
            {
                "type": "model_review",
                "role": self.name,
                "reason": reason,
                "messages": [{"type": m.type, "content": m.content} for m in messages],
            }
        )
        message = AIMessage(
            content=answer if isinstance(answer, str) else json.dumps(answer, default=str)
        )
        started = time.perf_counter()
        try:
            value = check(message)
        except (ValidationError, ValueError) as exc:
            raise InvalidInput(
                f"the reviewer's answer for role {self.name!r} is not valid: "
                f"{validation_text(exc, top='answer')}"
            ) from None
        await self.sink.record_decision(
            ctx.decision(
                provider="human:review",
                model="human",
                output=message_output(message),
                error=None,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        )
        return message, value


def _in_graph() -> bool:
    try:
        get_config()
    except RuntimeError:
        return False
    return True


def _as_text(message: AIMessage) -> str:
    if message.tool_calls:
        return json.dumps([{"name": c["name"], "args": c["args"]} for c in message.tool_calls])
    return message.text


class RoleModel(Runnable[LanguageModelInput, AIMessage]):
    """A chat model for one role (a LangChain Runnable; async: use `ainvoke`).

    Token streaming reaches LangGraph's `messages` stream mode through the callbacks of the
    config it runs under, as with any LangChain chat model.
    """

    def __init__(
        self, caller: _Caller, tools: Sequence[BaseTool] = (), tool_choice: str | None = None
    ):
        self._caller = caller
        self._tools = list(tools)
        self._tool_choice = tool_choice

    @property
    def role(self) -> str:
        return self._caller.name

    def bind_tools(self, tools: Sequence[BaseTool], *, tool_choice: str | None = None) -> RoleModel:
        """Offer tools; `tool_choice` naming one forces it (constrained to its argument schema)."""
        return RoleModel(self._caller, tools, tool_choice)

    def with_structured_output(self, schema: type[S]) -> StructuredRole[S]:
        """Answer with a validated `schema` instance (constrained decoding, then repair)."""
        return StructuredRole(self._caller, schema)

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AIMessage:
        raise BadRequest(f"model role {self.role!r} is async: call `await ainvoke(...)`")

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AIMessage:
        config = ensure_config(config)
        messages = self._caller.messages(input)
        extra = {"tools": [t.name for t in self._tools], "tool_choice": self._tool_choice}
        ctx = self._caller.context(messages, config, extra)
        message, _ = await self._caller.call(
            messages,
            ctx,
            config,
            self._check_tool_calls,
            tools=self._tools,
            tool_choice=self._tool_choice,
        )
        return message

    def _check_tool_calls(self, message: AIMessage) -> None:
        """Tool arguments must validate against the tool's schema; a forced tool must be called."""
        if message.invalid_tool_calls:
            bad = message.invalid_tool_calls[0]
            raise ValueError(f"tool call {bad.get('name')!r} is not valid JSON: {bad.get('error')}")
        if (
            self._tool_choice
            and self._tool_choice not in ("auto", "none")
            and not message.tool_calls
        ):
            raise ValueError(f"the answer must call the tool {self._tool_choice!r}")
        tools = {t.name: t for t in self._tools}
        for call in message.tool_calls:
            tool = tools.get(call["name"])
            if tool is None:
                raise ValueError(f"tool {call['name']!r} does not exist; tools: {sorted(tools)}")
            schema = tool.args_schema
            if isinstance(schema, type) and issubclass(schema, BaseModel):
                schema.model_validate(call["args"])


class StructuredRole(Runnable[LanguageModelInput, S], Generic[S]):
    """A role that answers with a validated pydantic model."""

    def __init__(self, caller: _Caller, schema: type[S]) -> None:
        self._caller = caller
        self.schema = schema

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> S:
        raise BadRequest(f"model role {self._caller.name!r} is async: call `await ainvoke(...)`")

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> S:
        config = ensure_config(config)
        messages = self._caller.messages(input)
        ctx = self._caller.context(messages, config, {"schema": self.schema.model_json_schema()})
        _, value = await self._caller.call(messages, ctx, config, self._parse, schema=self.schema)
        return value

    def _parse(self, message: AIMessage) -> S:
        text = message.text.strip()
        if not text:
            raise ValueError("the answer is empty; a JSON object was required")
        return self.schema.model_validate_json(text)
