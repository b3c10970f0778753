"""What the storage asks a backend to write, as values: the public methods fill in defaults once
and hand the backends one of these instead of a long list of arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent_ops.storage._policy import NewRun
from agent_ops.storage.queries import Page
from agent_ops.storage.records import Assistant, RunEvent
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json

__all__ = [
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


@dataclass(frozen=True, slots=True)
class NewAssistant:
    """Version 1 of an assistant."""

    assistant_id: str
    graph_id: str
    name: str
    description: str | None
    config: Json
    context: Json
    metadata: Json
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


@dataclass(frozen=True, slots=True)
class AssistantChanges:
    """A new version: None keeps the current value; `metadata` is merged into the current."""

    graph_id: str | None
    name: str | None
    description: str | None
    config: Json | None
    context: Json | None
    metadata: Json | None

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


@dataclass(frozen=True, slots=True)
class NewCron:
    """A schedule that queues a run of `assistant_id` (on `thread_id`, or a new thread each time)."""

    cron_id: str
    assistant_id: str
    thread_id: str | None
    schedule: str
    payload: Json
    metadata: Json
    next_run_date: datetime
    end_time: datetime | None
    enabled: bool
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


@dataclass(frozen=True, slots=True)
class CronChanges:
    """Columns to set (only those given) and metadata to merge into the current."""

    columns: dict[str, Any] = field(default_factory=dict)
    metadata: Json = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Namespaces:
    """Which store namespaces to list: under `prefix`, ending in `suffix`, cut at `max_depth`."""

    prefix: Sequence[str] | None
    suffix: Sequence[str] | None
    max_depth: int | None
    limit: int
    offset: int
    tenant_id: str = DEFAULT_TENANT


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
