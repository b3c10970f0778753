"""The decision log as the model layer writes it: one `ModelDecision` per provider attempt.

The sink is the storage (its `record_decision`) in a server, or `MemoryDecisions` in a script or
a test of graph logic. The run and thread come from the LangGraph config the runtime sets.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage

from agent_ops.storage.records import ModelDecision
from agent_ops.types import Json, ModelErrorKind, TokenSource


class DecisionSink(Protocol):
    """Where decisions go; `Storage` is one."""

    async def record_decision(self, decision: ModelDecision) -> None: ...


class MemoryDecisions:
    """Decisions kept in a list (scripts, tests of graph logic)."""

    def __init__(self) -> None:
        self.decisions: list[ModelDecision] = []

    async def record_decision(self, decision: ModelDecision) -> None:
        self.decisions.append(decision)


def input_hash(messages: Sequence[BaseMessage], extra: Mapping[str, Any] | None = None) -> str:
    """sha256 of what was asked: message types, contents, tool calls, plus tools or schema."""
    canonical = [
        {"type": m.type, "content": m.content, "tool_calls": getattr(m, "tool_calls", None)}
        for m in messages
    ]
    text = json.dumps([canonical, extra or {}], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def message_output(
    message: BaseMessage | None, redacted: Mapping[str, int] | None = None
) -> Json | None:
    """The part of an answer the log keeps: its text and its tool calls, plus `redacted`, the
    kinds and counts of personal identifiers masked in the request (never the values), when any
    were. A failed attempt has no answer; its output is None, or only `redacted`."""
    out: Json = {}
    if message is not None:
        tool_calls = message.tool_calls if isinstance(message, AIMessage) else []
        out["content"] = message.content
        out["tool_calls"] = [{"name": c["name"], "args": c["args"]} for c in tool_calls]
    if redacted:
        out["redacted"] = dict(redacted)
    return out or None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """A call's tokens, and who gave the numbers."""

    input_tokens: int
    output_tokens: int
    source: TokenSource

    def cost(self, input_per_1k: float, output_per_1k: float) -> float:
        """Estimate the call's cost in USD from per-1000-token prices."""
        return (self.input_tokens * input_per_1k + self.output_tokens * output_per_1k) / 1000


NO_TOKENS = TokenUsage(0, 0, "none")


def reported_usage(message: AIMessage) -> TokenUsage | None:
    """The usage the endpoint reported with `message`, if it reported any."""
    usage = message.usage_metadata
    if usage is None:
        return None
    return TokenUsage(usage["input_tokens"], usage["output_tokens"], "provider")


@dataclass(frozen=True, slots=True)
class CallContext:
    """What every decision of one role call shares."""

    role: str
    run_id: str | None
    thread_id: str | None
    prompt_name: str | None
    prompt_version: str | None
    input_hash: str

    def decision(
        self,
        *,
        provider: str,
        model: str,
        output: Json | None,
        error: str | None,
        latency_ms: float,
        usage: TokenUsage = NO_TOKENS,
        cost_usd: float = 0.0,
        error_kind: ModelErrorKind | None = None,
        queue_ms: float | None = None,
        generation_ms: float | None = None,
    ) -> ModelDecision:
        return ModelDecision(
            decision_id=str(uuid.uuid4()),
            run_id=self.run_id,
            thread_id=self.thread_id,
            role=self.role,
            provider=provider,
            model=model,
            prompt_name=self.prompt_name,
            prompt_version=self.prompt_version,
            input_hash=self.input_hash,
            output=output,
            error=error,
            latency_ms=latency_ms,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            token_source=usage.source,
            cost_usd=cost_usd,
            created_at=datetime.now(UTC),
            error_kind=error_kind,
            queue_ms=queue_ms,
            generation_ms=generation_ms,
        )
