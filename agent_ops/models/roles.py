"""A role at call time: its prompt, its providers in fallback order, and the rules of trying.

Each provider gets `1 + retries` attempts on retriable errors (connection, timeout, 429, 5xx)
with doubling backoff. An attempt first waits its turn in the provider's queue (at most
`queue_timeout_seconds`), then has `timeout_seconds` from sending its request. An
answer that does not validate (structured output, tool arguments) is re-asked with the
validation error up to `repair_attempts` times. When every provider has failed the role raises
`ModelUnavailable`, or, with `on_failure: human_review` inside a graph, pauses the run with
`interrupt()` so that a person answers instead. Every attempt lands in the decision log, a
failed one with why (`error_kind` and `error`), each with its queue wait and generation time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from agent_ops.models._failures import (
    EmptyAnswer,
    Failure,
    NotJson,
    failure_of,
    invalid_answer,
    is_timeout,
)
from agent_ops.models._queue import QueueTimeout
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
from agent_ops.models.providers import Ask, Call, Provider, is_retriable
from agent_ops.models.redact import Redaction

log = logging.getLogger(__name__)
T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)
Out = TypeVar("Out")  # what a role's Runnable answers with

REPAIR = (
    "Your previous answer was not valid: {error}\n"
    "Answer again, correcting exactly that, in the required format and nothing else."
)


@dataclass(frozen=True)
class _Request(Generic[T]):
    """What stays the same over one role call's providers, repairs and retries."""

    ctx: CallContext
    config: RunnableConfig
    check: Callable[[AIMessage], T]  # the answer's validation: raises, or returns its value
    ask: Ask


class _Invalid(Exception):
    """An answer arrived but did not validate; carries it for the repair re-ask."""

    def __init__(self, message: AIMessage, error: str, failure: Failure) -> None:
        super().__init__(error)
        self.message = message
        self.failure = failure


class _Failed(Exception):
    """A provider could not answer this call (after its retries); carries why."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.text)
        self.failure = failure


@dataclass(slots=True)
class _Clock:
    """Where one attempt's time went, filled in as it goes (a failure can stop it anywhere)."""

    started: float = field(default_factory=time.perf_counter)
    queue_ms: float | None = None
    generation_ms: float | None = None
    latency_ms: float | None = None

    def since(self, mark: float) -> float:
        return (time.perf_counter() - mark) * 1000

    def stop(self) -> float:
        """The attempt's whole time until its answer (or failure), in ms; fixed at first call."""
        if self.latency_ms is None:
            self.latency_ms = self.since(self.started)
        return self.latency_ms


def _to_messages(value: LanguageModelInput) -> list[BaseMessage]:
    if isinstance(value, str):
        return [HumanMessage(content=value)]
    if isinstance(value, PromptValue):
        return value.to_messages()
    return list(convert_to_messages(value))


@dataclass(frozen=True, slots=True)
class _Caller:
    """The attempt/retry/repair/fallback loop shared by chat and structured calls."""

    name: str
    config: RoleConfig
    providers: Sequence[Provider]
    prompt: Prompt | None
    prompt_values: Mapping[str, object]
    sink: DecisionSink
    phone_region: str | None = field(default=None, kw_only=True)

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
        ask: Ask,
    ) -> tuple[AIMessage, T]:
        """Try each provider in order; return the first valid answer and what `check` made of it."""
        errors: list[str] = []
        request = _Request(ctx, config, check, ask)
        for provider in self.providers:
            conversation = list(messages)
            for _repair in range(self.config.repair_attempts + 1):
                try:
                    return await self._attempt(provider, conversation, request)
                except _Invalid as invalid:
                    errors.append(f"{provider.spec}: {invalid.failure}")
                    conversation += [
                        AIMessage(content=_as_text(invalid.message)),
                        HumanMessage(content=REPAIR.format(error=invalid)),
                    ]
                except _Failed as failed:
                    errors.append(f"{provider.spec}: {failed.failure}")
                    break
        return await self._exhausted(errors, messages, ctx, check)

    async def _attempt(
        self, provider: Provider, messages: list[BaseMessage], request: _Request[T]
    ) -> tuple[AIMessage, T]:
        ctx = request.ctx
        delay = self.config.backoff_seconds
        redaction = self._redaction(provider)
        sent = messages if redaction is None else redaction.messages(messages)
        masked = None if redaction is None else redaction.summary() or None
        for attempt in range(self.config.retries + 1):
            clock = _Clock()
            try:
                message, usage = await self._generate(
                    provider, sent, request.config, request.ask, clock
                )
            except GraphBubbleUp:
                raise
            except Exception as exc:
                failure = failure_of(
                    exc,
                    timeout=self.config.timeout_seconds,
                    setting=f"roles.{self.name}.timeout_seconds",
                )
                await self._record(ctx, provider, clock, None, failure, NO_TOKENS, masked)
                if not is_retriable(exc) or attempt == self.config.retries:
                    log.warning("role %s: %s failed: %s", self.name, provider.spec, failure)
                    raise _Failed(failure) from exc
                log.info(
                    "role %s: %s failed: %s; retrying in %gs",
                    self.name,
                    provider.spec,
                    failure,
                    delay,
                )
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if redaction is not None:
                message = redaction.restore(message)
            try:
                value = request.check(message)
            except (ValidationError, ValueError) as exc:
                failure = invalid_answer(exc)
                await self._record(ctx, provider, clock, message, failure, usage, masked)
                log.info("role %s: %s: %s", self.name, provider.spec, failure)
                raise _Invalid(message, validation_text(exc, top="answer"), failure) from None
            await self._record(ctx, provider, clock, message, None, usage, masked)
            return message, value
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _redaction(self, provider: Provider) -> Redaction | None:
        """The masking for a call to `provider`: only text bound for an external endpoint."""
        if provider.kind != "openai" or not self.config.redact:
            return None
        return Redaction(frozenset(self.config.redact), self.phone_region)

    async def _generate(
        self,
        provider: Provider,
        messages: list[BaseMessage],
        config: RunnableConfig,
        ask: Ask,
        clock: _Clock,
    ) -> tuple[AIMessage, TokenUsage]:
        """Wait for a turn at the provider, then ask it within the time limit; count the tokens.

        Only the asking runs under `timeout_seconds`: starting a local server and waiting in the
        queue do not, the wait has its own bound.
        """
        call = Call(messages, ask, self.config.timeout_seconds, config)
        await provider.ready()
        queued = time.perf_counter()
        try:
            async with provider.queue.turn(
                self.config.queue_timeout_seconds,
                setting=f"roles.{self.name}.queue_timeout_seconds",
            ):
                clock.queue_ms = clock.since(queued)
                generating = time.perf_counter()
                try:
                    message = await provider.answer(call)
                except Exception as exc:
                    if is_timeout(exc):
                        clock.generation_ms = clock.since(generating)
                        clock.stop()
                        # The endpoint may still be generating the answer nobody waits for (a
                        # local server finishes it, up to max_tokens); the turn is held until it
                        # stops, so the next caller's time limit is spent on its own answer.
                        # Those behind wait in the queue meanwhile, which their queue bound
                        # covers.
                        await provider.settle(self.config.queue_timeout_seconds)
                    raise
                finally:
                    if clock.generation_ms is None:
                        clock.generation_ms = clock.since(generating)
                    clock.stop()
                usage = await provider.usage(call, message)
        except QueueTimeout:
            clock.queue_ms = clock.since(queued)
            clock.stop()
            raise
        return message, usage

    async def _record(
        self,
        ctx: CallContext,
        provider: Provider,
        clock: _Clock,
        message: AIMessage | None,
        failure: Failure | None,
        usage: TokenUsage,
        masked: dict[str, int] | None,
    ) -> None:
        options = provider.options
        await self.sink.record_decision(
            ctx.decision(
                provider=provider.spec,
                model=provider.model,
                output=message_output(message, masked),
                error=None if failure is None else failure.text,
                error_kind=None if failure is None else failure.kind,
                latency_ms=clock.stop(),
                queue_ms=clock.queue_ms,
                generation_ms=clock.generation_ms,
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
                cost_usd=0.0,
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


class _AsyncRole(Runnable[LanguageModelInput, Out]):
    """A role's Runnable: answers only asynchronously, as providers are reached with async I/O."""

    _caller: _Caller

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Out:
        raise BadRequest(f"model role {self._caller.name!r} is async: call `await ainvoke(...)`")


class RoleModel(_AsyncRole[AIMessage]):
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
            Ask(tools=self._tools, tool_choice=self._tool_choice),
        )
        return message

    def _check_tool_calls(self, message: AIMessage) -> None:
        """Tool arguments must validate against the tool's schema; a forced tool must be called."""
        if message.invalid_tool_calls:
            bad = message.invalid_tool_calls[0]
            raise NotJson(f"tool call {bad.get('name')!r} is not valid JSON: {bad.get('error')}")
        if (
            self._tool_choice
            and self._tool_choice not in ("auto", "none")
            and not message.tool_calls
        ):
            if not message.text.strip():
                raise EmptyAnswer(
                    f"the answer is empty; it must call the tool {self._tool_choice!r}"
                )
            raise ValueError(f"the answer must call the tool {self._tool_choice!r}")
        tools = {t.name: t for t in self._tools}
        for call in message.tool_calls:
            tool = tools.get(call["name"])
            if tool is None:
                raise ValueError(f"tool {call['name']!r} does not exist; tools: {sorted(tools)}")
            schema = tool.args_schema
            if isinstance(schema, type) and issubclass(schema, BaseModel):
                schema.model_validate(call["args"])


class StructuredRole(_AsyncRole[S], Generic[S]):
    """A role that answers with a validated pydantic model."""

    def __init__(self, caller: _Caller, schema: type[S]) -> None:
        self._caller = caller
        self.schema = schema

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> S:
        config = ensure_config(config)
        messages = self._caller.messages(input)
        ctx = self._caller.context(messages, config, {"schema": self.schema.model_json_schema()})
        _, value = await self._caller.call(
            messages, ctx, config, self._parse, Ask(schema=self.schema)
        )
        return value

    def _parse(self, message: AIMessage) -> S:
        text = message.text.strip()
        if not text:
            raise EmptyAnswer("the answer is empty; a JSON object was required")
        return self.schema.model_validate_json(text)
