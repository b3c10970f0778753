"""What the storage asks a backend to write, as values: the public methods fill in defaults once
and hand the backends one of these instead of a long list of arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent_ops.storage._policy import NewRun
from agent_ops.types import Json, SortOrder

__all__ = ["AssistantChanges", "CronChanges", "Ending", "NewAssistant", "NewCron", "NewRun", "Page"]


@dataclass(frozen=True, slots=True)
class NewAssistant:
    assistant_id: str
    graph_id: str
    name: str
    description: str | None
    config: Json
    context: Json
    metadata: Json


@dataclass(frozen=True, slots=True)
class AssistantChanges:
    """A new version: None keeps the current value; `metadata` is merged into the current."""

    graph_id: str | None
    name: str | None
    description: str | None
    config: Json | None
    context: Json | None
    metadata: Json | None


@dataclass(frozen=True, slots=True)
class NewCron:
    cron_id: str
    assistant_id: str
    thread_id: str | None
    schedule: str
    payload: Json
    metadata: Json
    next_run_date: datetime
    end_time: datetime | None
    enabled: bool


@dataclass(frozen=True, slots=True)
class CronChanges:
    """Columns to set (only those given) and metadata to merge into the current."""

    columns: dict[str, Any] = field(default_factory=dict)
    metadata: Json = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a search, in which order (`sort_by` is checked against the columns)."""

    limit: int
    offset: int
    sort_by: str | None = None
    sort_order: SortOrder | None = None


@dataclass(frozen=True, slots=True)
class Ending:
    """How a run ended and what its thread holds afterwards (None leaves a column as it is)."""

    status: str
    error: str | None = None
    thread_values: Json | None = None
    thread_interrupts: Json | None = None
    output: Json | None = None
