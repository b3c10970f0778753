"""What the storage asks a backend to write, as values: the public methods fill in defaults once
and hand the backends one of these instead of a long list of arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from pydantic import MISSING

from agent_ops.storage._policy import NewRun
from agent_ops.storage.queries import Page
from agent_ops.storage.records import Assistant, RunEvent
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json

__all__ = [
    "ALL_NAMESPACES",
    "AssistantChanges",
    "CronChanges",
    "Ending",
    "Namespaces",
    "NewAssistant",
    "NewCron",
    "NewRun",
    "NewThread",
    "Page",
]


Encode = Callable[[Any], Any]
"""How a backend stores a value of a JSON or time column."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAssistant:
    """Version 1 of an assistant."""

    assistant_id: str
    graph_id: str
    name: str
    description: str | None = None
    config: Json = field(default_factory=dict)
    context: Json = field(default_factory=dict)
    metadata: Json = field(default_factory=dict)
    tenant_id: str = DEFAULT_TENANT
    owner: str = DEFAULT_OWNER

    def params(self, json: Encode) -> tuple[Any, ...]:
        """assistant_id, tenant_id, owner, graph_id, name, description, config, context, metadata"""
        return (
            self.assistant_id,
            self.tenant_id,
            self.owner,
            self.graph_id,
            self.name,
            self.description,
            json(self.config),
            json(self.context),
            json(self.metadata),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantChanges:
    """A new version: None keeps the current value; `metadata` is merged into the current.
    The API's patch body builds one, and the runtime hands the same value to storage."""

    graph_id: str | None = None
    name: str | None = None
    description: str | None = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None

    def given(self) -> Json:
        """Return the fields by name (None where not given), as handlers and the audit read them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def applied_to(self, current: Assistant, json: Encode) -> tuple[Any, ...]:
        """graph_id, name, description, config, context, metadata of the new version"""
        return (
            self.graph_id or current.graph_id,
            self.name or current.name,
            self.description if self.description is not None else current.description,
            json(self.config if self.config is not None else current.config),
            json(self.context if self.context is not None else current.context),
            json({**current.metadata, **(self.metadata or {})}),
        )


@dataclass(frozen=True, slots=True)
class NewThread:
    """A thread to insert, idle and empty."""

    thread_id: str
    metadata: Json
    tenant_id: str = DEFAULT_TENANT
    owner: str = DEFAULT_OWNER

    def params(self, json: Encode) -> tuple[Any, ...]:
        """thread_id, tenant_id, owner, metadata"""
        return (self.thread_id, self.tenant_id, self.owner, json(self.metadata))


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCron:
    """A schedule that queues a run of `assistant_id` (on `thread_id`, or a new thread each time)."""

    cron_id: str
    assistant_id: str
    thread_id: str | None
    schedule: str
    payload: Json
    metadata: Json
    next_run_date: datetime
    end_time: datetime | None = None
    enabled: bool = True
    tenant_id: str = DEFAULT_TENANT
    owner: str = DEFAULT_OWNER

    def params(self, json: Encode, time: Encode) -> tuple[Any, ...]:
        """cron_id, tenant_id, owner, assistant_id, thread_id, schedule, payload, metadata,
        next_run_date, end_time, enabled"""
        return (
            self.cron_id,
            self.tenant_id,
            self.owner,
            self.assistant_id,
            self.thread_id,
            self.schedule,
            json(self.payload),
            json(self.metadata),
            time(self.next_run_date),
            time(self.end_time),
            self.enabled,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CronChanges:
    """A cron's new column values (`MISSING` keeps the current one; None sets NULL, which only
    `end_time` may be) and metadata to merge into its current metadata."""

    schedule: str | MISSING = MISSING
    payload: Json | MISSING = MISSING
    next_run_date: datetime | MISSING = MISSING
    end_time: datetime | None | MISSING = MISSING
    enabled: bool | MISSING = MISSING
    metadata: Json = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, Any]:
        """The columns to set, by name: those given (metadata is merged, not set)."""
        given = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "metadata"}
        return {column: value for column, value in given.items() if value is not MISSING}


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespaces:
    """Which store namespaces to list: under `prefix`, ending in `suffix`, cut at `max_depth`.
    The API's body builds one, the runtime sets its tenant, and storage reads the same value."""

    prefix: Sequence[str] | None = None
    suffix: Sequence[str] | None = None
    max_depth: int | None = None
    limit: int = 100
    offset: int = 0
    tenant_id: str = DEFAULT_TENANT


ALL_NAMESPACES = Namespaces()
"""The default tenant's namespaces, the first 100 (frozen, so shared)."""


@dataclass(frozen=True, slots=True)
class Ending:
    """How a run ended and what its thread holds afterwards (None leaves a column as it is)."""

    status: str
    error: str | None = None
    thread_values: Json | None = None
    thread_interrupts: Json | None = None
    output: Json | None = None
    events: Sequence[RunEvent] = ()
    """The run's last stream events, stored with the ending (even when the lease was lost)."""
