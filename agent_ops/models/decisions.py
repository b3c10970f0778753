"""The decision log as the model layer writes it: one `ModelDecision` per provider attempt.

The sink is the storage in a server (`AuditedDecisions`: its `record_decision`, and a
`model.decision` row in the audit trail), or `MemoryDecisions` in a script or a test of graph
logic. The run and thread come from the LangGraph config the runtime sets.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, NotRequired, Protocol, TypedDict, Unpack

from langchain_core.messages import AIMessage, BaseMessage

from agent_ops.governance import audit, bind_caller, caller
from agent_ops.storage import Storage
from agent_ops.storage.records import ModelDecision
from agent_ops.types import DEFAULT_TENANT, Json, ModelErrorKind, TokenSource

__all__ = [
    "NO_TOKENS",
    "Attempt",
    "AuditedDecisions",
    "CallContext",
    "DecisionSink",
    "MemoryDecisions",
    "TokenUsage",
    "audited",
    "input_hash",
    "message_output",
    "reported_usage",
]


class DecisionSink(Protocol):
    """Where decisions go; `Storage` is one."""

    async def record_decision(self, decision: ModelDecision) -> None: ...


class MemoryDecisions:
    """Decisions kept in a list (scripts, tests of graph logic)."""

    def __init__(self) -> None:
        self.decisions: list[ModelDecision] = []

    async def record_decision(self, decision: ModelDecision) -> None:
        self.decisions.append(decision)


class AuditedDecisions:
    """The decision log of a storage, with each decision also a `model.decision` row of the
    audit trail: the model's part in a run is in the chain beside the people's."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def record_decision(self, decision: ModelDecision) -> None:
        await self._storage.record_decision(decision)
        # The row is the run's, in its tenant: the graph acts for the run's owner (the bound
        # caller), but the decision is the model's, so the actor names the run.
        owner = caller()
        bind_caller(None)
        try:
            await audit.record(
                self._storage,
                "model.decision",
                "decision",
                decision.decision_id,
                payload=decision.output,
                detail=_facts(decision),
                tenant=owner.tenant if owner is not None else DEFAULT_TENANT,
                actor=f"run:{decision.run_id}" if decision.run_id else "system",
            )
        finally:
            bind_caller(owner)


def audited(sink: DecisionSink) -> DecisionSink:
    """`sink` with its decisions also put in the audit trail, when it keeps one (a storage)."""
    return AuditedDecisions(sink) if isinstance(sink, Storage) else sink


def _facts(decision: ModelDecision) -> dict[str, Any]:
    """What a `model.decision` row says: where, which model, on what input, with what result
    (the answer itself is the row's digest)."""
    facts: dict[str, Any] = {
        "run_id": decision.run_id,
        "thread_id": decision.thread_id,
        "role": decision.role,
        "provider": decision.provider,
        "model": decision.model,
        "input_hash": decision.input_hash,
        "outcome": "failed" if decision.error is not None else "answered",
    }
    if decision.prompt_name:
        facts["prompt"] = f"{decision.prompt_name}@{decision.prompt_version}"
    if decision.error is not None:
        facts["error_kind"] = decision.error_kind
    if isinstance(decision.output, Mapping) and decision.output.get("redacted"):
        facts["redacted"] = decision.output["redacted"]
    return facts


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


class Attempt(TypedDict):
    """How one provider attempt went, in `ModelDecision`'s own field names."""

    provider: str
    model: str
    output: Json | None
    error: str | None
    latency_ms: float
    cost_usd: float
    error_kind: NotRequired[ModelErrorKind | None]
    queue_ms: NotRequired[float | None]
    generation_ms: NotRequired[float | None]


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
        self, *, usage: TokenUsage = NO_TOKENS, **attempt: Unpack[Attempt]
    ) -> ModelDecision:
        """The decision one attempt makes: this call's shared facts, the attempt's, its usage."""
        shared = {f.name: getattr(self, f.name) for f in fields(self)}
        return ModelDecision(
            decision_id=str(uuid.uuid4()),
            created_at=datetime.now(UTC),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            token_source=usage.source,
            **shared,
            **attempt,
        )
