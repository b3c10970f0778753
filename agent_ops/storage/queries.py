"""What a search or count asks for, as values: one filter per searchable concept and the one
`Page` (which slice, in which order). The API's search body builds a filter and a page, the
runtime narrows them (tenant, an app's handler), and `search_<concept>(filter, page)` and
`count_<concept>(filter)` read the same objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent_ops.types import Json, SortOrder, ThreadStatus

__all__ = [
    "ANY_ASSISTANT",
    "ANY_CRON",
    "ANY_THREAD",
    "FIRST_PAGE",
    "AssistantFilter",
    "CronFilter",
    "Page",
    "Scoped",
    "ThreadFilter",
]


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a search, in which order (`sort_by` is checked against the columns)."""

    limit: int = 10
    offset: int = 0
    sort_by: str | None = None
    sort_order: SortOrder | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Scoped:
    """What every filter holds: the tenant searched (None: every tenant's rows) and pairs the
    metadata contains (top-level keys)."""

    tenant_id: str | None = None
    metadata: Json | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantFilter(Scoped):
    """Which assistants; with `tenant_id`, that tenant's and the shared ones (default tenant,
    owner system: the registry's defaults)."""

    graph_id: str | None = None
    name: str | None = None
    """A substring of the name, case-insensitive (wildcards are literal text)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadFilter(Scoped):
    """Which threads: every given field holds."""

    ids: Sequence[str] | None = None
    """Only these threads (an empty list: none)."""
    values: Json | None = None
    """Pairs the latest values contain (top-level keys)."""
    status: ThreadStatus | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CronFilter(Scoped):
    """Which crons: every given field holds (the runtime asks a count for no metadata, as
    LangGraph's server counts)."""

    assistant_id: str | None = None
    thread_id: str | None = None
    enabled: bool | None = None


# The defaults of a search or count that asks for no filter or page (frozen, so shared).
FIRST_PAGE = Page()
ANY_ASSISTANT = AssistantFilter()
ANY_THREAD = ThreadFilter()
ANY_CRON = CronFilter()
