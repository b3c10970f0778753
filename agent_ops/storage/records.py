"""Rows of the agent-ops database as immutable values, shared by every storage backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from agent_ops.types import (
    Json,
    ModelErrorKind,
    MultitaskStrategy,
    RunStatus,
    ThreadStatus,
    TokenSource,
)

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AuditRecord",
    "Assistant",
    "Cron",
    "IntakeEntry",
    "IntakeItem",
    "LeaseState",
    "ModelDecision",
    "QueueStats",
    "Run",
    "RunEvent",
    "StoreItem",
    "Thread",
    "ThreadEvent",
]


@dataclass(frozen=True, slots=True)
class Assistant:
    assistant_id: str
    graph_id: str
    name: str
    description: str | None
    config: Json
    context: Json
    metadata: Json
    version: int
    created_at: datetime
    updated_at: datetime
    tenant_id: str
    owner: str


@dataclass(frozen=True, slots=True)
class Thread:
    thread_id: str
    status: ThreadStatus
    metadata: Json
    values: Json | None
    interrupts: Json
    error: str | None
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime
    tenant_id: str
    owner: str


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    thread_id: str
    assistant_id: str
    status: RunStatus
    metadata: Json
    kwargs: Json
    """Everything the run was asked to do: input, command, config, context, stream_mode, ..."""
    multitask_strategy: MultitaskStrategy
    stateless: bool
    attempt: int
    worker_id: str | None
    lease_expires_at: datetime | None
    cancel_action: Literal["interrupt", "rollback"] | None
    error: str | None
    not_before: datetime
    created_at: datetime
    updated_at: datetime
    tenant_id: str
    owner: str
    output: Json | None = None
    """What `runs/wait` answers once the run has ended: final values, `__interrupt__`, `__error__`."""


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One server-sent event of a run; `seq` is its `id:` and is dense from 1 per run."""

    seq: int
    event: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ThreadEvent:
    """An event on a thread outside any run (a state update), kept for its thread stream."""

    event_id: str
    event: str
    data: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoreItem:
    namespace: tuple[str, ...]
    key: str
    value: Json
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cron:
    cron_id: str
    assistant_id: str
    thread_id: str | None
    schedule: str
    payload: Json
    metadata: Json
    next_run_date: datetime | None
    end_time: datetime | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    tenant_id: str
    owner: str


@dataclass(frozen=True, slots=True)
class QueueStats:
    runs_by_status: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    oldest_pending_age_seconds: float = 0.0
    live_workers: int = 0


@dataclass(frozen=True, slots=True)
class LeaseState:
    """What a worker learns when it renews its lease on a run."""

    held: bool
    cancel_action: Literal["interrupt", "rollback"] | None = None


# The value of a thread's state columns after a run; `Any` because graphs define their own state.
ThreadValues = dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ModelDecision:
    """One model call as the decision log keeps it: who answered what, how fast, at what cost.

    A failed attempt is a decision too (`error` set, no answer in `output`), so a fallback shows both the
    provider that failed and the one that answered.
    """

    decision_id: str
    run_id: str | None
    thread_id: str | None
    role: str
    provider: str
    """The provider spec that was called, e.g. `openai:gpt-4o-mini` or `local:smollm2`."""
    model: str
    prompt_name: str | None
    prompt_version: str | None
    input_hash: str
    """sha256 of the canonical JSON of the messages sent; equal inputs hash equal."""
    output: Json | None
    """The answer's `content` and `tool_calls`, and `redacted` (kinds and counts of personal
    identifiers masked in the request, never the values) when any were; a failed attempt has no
    answer: None, or only `redacted`."""
    error: str | None
    latency_ms: float
    input_tokens: int
    output_tokens: int
    token_source: TokenSource | None
    """Who gave the token numbers; None on decisions logged before it was recorded."""
    cost_usd: float
    created_at: datetime
    error_kind: ModelErrorKind | None = None
    """Why the attempt failed, as one word (`error` holds the detail); None when it answered and
    on decisions logged before it was recorded."""
    queue_ms: float | None = None
    """Time spent waiting for a turn at the model (its queue), not part of `generation_ms`."""
    generation_ms: float | None = None
    """Time from sending the request to the end of the answer (or the failure)."""


@dataclass(frozen=True, slots=True)
class IntakeEntry:
    """An item a trigger wants to take in: which source, its unique key there, what it is."""

    source: str
    """The trigger that saw it: `mail`, `folder:<name>`."""
    key: str
    """Unique within the source: `mailbox/uidvalidity/uid` for mail, the sha256 of a file."""
    origin: str | None = None
    """Which copy of the item this is (a file's claim token), to tell a retry from a duplicate."""
    summary: Json = field(default_factory=dict)
    """A few fields for people reading the ledger: sender, subject, file name."""


@dataclass(frozen=True, slots=True)
class IntakeItem:
    """A row of the intake ledger: an item taken in, and the run it started."""

    source: str
    key: str
    origin: str | None
    summary: Json
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    settled_at: datetime | None
    """When the item left its source (mail moved, file moved to done/); None until then."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: whose it is and what it may do; never the key itself, only its HMAC."""

    key_id: str
    name: str | None
    tenant_id: str
    role: str
    digest: str
    """Hex HMAC-SHA256 of the whole key under the server secret."""
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One row of the audit trail, with the hash that chains it to its tenant's previous row.
    `at` and `detail` are the exact text the hash covers (see `agent_ops.governance.audit`)."""

    tenant_id: str
    seq: int
    at: str
    actor: str
    actor_role: str | None
    via: str | None
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    digest: str | None
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit row not yet in its chain: the tenant whose chain it joins, and how to seal it
    once its place is known (`seal(seq, prev_hash)` returns the row with its hash). A state
    change given one appends it in its own transaction, so the action and its record commit
    or roll back together."""

    tenant_id: str
    seal: Callable[[int, str], AuditRecord]
    parts: Callable[[AuditRecord], tuple[tuple[str, ...], tuple[bytes, ...]]]
    """The hashed text of a sealed row cut around its place (`prev_hash`, `seq`): what lets
    PostgreSQL hash the row in the statement that finds its place (see
    `agent_ops.governance.audit.hash_parts`)."""
