"""Request bodies of the LangGraph Server API. Unknown fields are rejected (422 naming them).

A run's body becomes the runtime's typed request here (`RunCreate.to_request`), so nothing past
this module reads a request as a dict.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from agent_ops import (
    AssistantSortBy,
    CancelStatus,
    CronSortBy,
    DisconnectMode,
    Durability,
    IfNotExists,
    InvalidInput,
    Json,
    MultitaskStrategy,
    OnCompletionBehavior,
    OnConflictBehavior,
    PruneStrategy,
    SortOrder,
    StorableBody,
    StreamMode,
    ThreadSortBy,
    ThreadStatus,
)
from agent_ops.runtime import (
    AssistantChanges,
    AssistantFilter,
    AssistantRequest,
    Breakpoints,
    CronFilter,
    CronRequest,
    Namespaces,
    Page,
    RunOptions,
    RunRequest,
    SearchOp,
    ThreadFilter,
    ThreadRequest,
    durability_of,
    stream_modes,
)


def _stream_modes(value: Any) -> Any:
    """Read one mode or a list of them; an unknown mode is a 422 naming it."""
    if not isinstance(value, str | list | tuple):
        return value  # None, or a wrong type pydantic names itself
    try:
        return stream_modes(value)
    except InvalidInput as exc:
        raise PydanticCustomError("stream_mode", str(exc)) from None


StreamModes = Annotated[tuple[StreamMode, ...] | None, BeforeValidator(_stream_modes)]


class Body(StorableBody):
    """Every request body: unknown fields and values neither backend could store are a 422.

    A body becomes the runtime's frozen value by an explicit constructor call (`to_request`,
    `to_filter`, `to_page`, ...), never by matching field names at run time: a field renamed on
    either side is then a type error, not a filter silently left at its default."""


class Checkpoint(Body):
    thread_id: str | None = None
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class CommandBody(Body):
    resume: Any = None
    update: Any = None
    goto: Any = None


class RunCreate(Body):
    assistant_id: str
    input: Any = None
    command: CommandBody | None = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    stream_mode: StreamModes = None
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Breakpoints | None = None
    interrupt_after: Breakpoints | None = None
    webhook: str | None = None
    checkpoint: Checkpoint | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None
    multitask_strategy: MultitaskStrategy | None = None
    if_not_exists: IfNotExists | None = None
    on_disconnect: DisconnectMode | None = None
    on_completion: OnCompletionBehavior | None = None
    after_seconds: float | None = Field(None, ge=0)
    durability: Durability | None = None
    strict_resume: bool | None = None
    feedback_keys: list[str] | None = None
    langsmith_tracer: Json | None = None

    def to_request(self) -> RunRequest:
        """Return the body as the runtime's run request."""
        return RunRequest(
            assistant_id=self.assistant_id,
            options=RunOptions(
                input=self.input,
                command=None
                if self.command is None
                else self.command.model_dump(exclude_none=True),
                config=self.config,
                context=self.context,
                stream_mode=self.stream_mode or ("values",),
                stream_subgraphs=self.stream_subgraphs,
                stream_resumable=self.stream_resumable,
                interrupt_before=self.interrupt_before,
                interrupt_after=self.interrupt_after,
                webhook=self.webhook,
                checkpoint=None
                if self.checkpoint is None
                else self.checkpoint.model_dump(exclude_none=True),
                checkpoint_id=self.checkpoint_id,
                on_disconnect=self.on_disconnect,
                on_completion=self.on_completion,
                durability=durability_of(self.durability, self.checkpoint_during),
                strict_resume=self.strict_resume,
                feedback_keys=self.feedback_keys,
                langsmith_tracer=self.langsmith_tracer,
            ),
            metadata=self.metadata,
            multitask_strategy=self.multitask_strategy,
            if_not_exists=self.if_not_exists,
            after_seconds=self.after_seconds or 0.0,
        )


class _AssistantBody(Body):
    name: str | None = None
    description: str | None = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None

    def changes(self, graph_id: str | None) -> AssistantChanges:
        """Return what the body describes an assistant with, on `graph_id`."""
        return AssistantChanges(
            graph_id=graph_id,
            name=self.name,
            description=self.description,
            config=self.config,
            context=self.context,
            metadata=self.metadata,
        )


class AssistantCreate(_AssistantBody):
    graph_id: str
    assistant_id: str | None = None
    if_exists: OnConflictBehavior | None = None

    def to_request(self) -> AssistantRequest:
        """Return the body as the runtime's request for a new assistant."""
        return AssistantRequest(
            graph_id=self.graph_id,
            assistant_id=self.assistant_id,
            if_exists=self.if_exists,
            described=self.changes(None),
        )


class AssistantPatch(_AssistantBody):
    graph_id: str | None = None

    def to_changes(self) -> AssistantChanges:
        """Return the body as the assistant's changes."""
        return self.changes(self.graph_id)


class _Page(Body):
    """A page of a listing: at most `limit` records, after the first `offset`."""

    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class Searching(_Page):
    """A search: a page of records, with only the `select`ed fields of each shown."""

    select: list[str] | None = None
    sort_by: str | None = None  # each concept's body names its sortable columns
    sort_order: SortOrder | None = None

    def to_page(self) -> Page:
        """Return the slice of the search the body asks for."""
        return Page(self.limit, self.offset, self.sort_by, self.sort_order)


class AssistantCount(Body):
    metadata: Json | None = None
    graph_id: str | None = None
    name: str | None = None

    def to_filter(self) -> AssistantFilter:
        """Return the assistants the body asks for."""
        return AssistantFilter(metadata=self.metadata, graph_id=self.graph_id, name=self.name)


class AssistantSearch(AssistantCount, Searching):
    sort_by: AssistantSortBy | None = None


class AssistantVersions(_Page):
    metadata: Json | None = None


class AssistantLatest(Body):
    version: int = Field(ge=1)


class ThreadCreate(Body):
    thread_id: str | None = None
    metadata: Json | None = None
    if_exists: OnConflictBehavior | None = None
    supersteps: list[Json] | None = None
    ttl: Json | None = None

    def to_request(self) -> ThreadRequest:
        """Return the body as the runtime's request for a new thread (`ttl` is accepted, as
        the sdk may send it, and not acted on)."""
        return ThreadRequest(
            thread_id=self.thread_id,
            metadata=self.metadata,
            if_exists=self.if_exists,
            supersteps=self.supersteps or (),
        )


class ThreadPatch(Body):
    metadata: Json = Field(default_factory=dict)
    ttl: Json | None = None


class ThreadCount(Body):
    metadata: Json | None = None
    values: Json | None = None
    status: ThreadStatus | None = None

    def to_filter(self) -> ThreadFilter:
        """Return the threads the body asks for."""
        return ThreadFilter(metadata=self.metadata, values=self.values, status=self.status)


def _extract_paths(extract: dict[str, str] | None) -> dict[str, str] | None:
    """Check a search's `extract` as the LangGraph server does: at most 10 aliases, each an
    identifier that is not a thread field, each path under values, metadata, config or
    interrupts (`values.messages[-1].content`)."""
    if not extract:
        return extract
    if len(extract) > _MAX_EXTRACT:
        raise ValueError(f"at most {_MAX_EXTRACT} extract paths, got {len(extract)}")
    for alias, path in extract.items():
        if not alias.isidentifier() or not alias.isascii():
            raise ValueError(f"extract alias {alias!r} is not an identifier")
        if alias in _THREAD_FIELDS:
            raise ValueError(f"extract alias {alias!r} is a thread field")
        root = path.split(".")[0].split("[")[0]
        if root not in _EXTRACTABLE:
            raise ValueError(
                f"extract path {path!r} must start with one of {', '.join(_EXTRACTABLE)}"
            )
    return extract


_MAX_EXTRACT = 10
_EXTRACTABLE = ("config", "interrupts", "metadata", "values")
_THREAD_FIELDS = frozenset(
    {
        "thread_id",
        "created_at",
        "updated_at",
        "state_updated_at",
        "metadata",
        "config",
        "context",
        "status",
        "values",
        "interrupts",
        "error",
        "extracted",
    }
)


class ThreadSearch(ThreadCount, Searching):
    ids: list[str] | None = None
    sort_by: ThreadSortBy | None = None
    extract: Annotated[dict[str, str] | None, AfterValidator(_extract_paths)] = None
    """Aliases of paths into each thread (`{"last": "values.messages[-1]"}`), shown under
    `extracted` (null where a path leads nowhere), selected or not."""

    def to_filter(self) -> ThreadFilter:
        """Return the threads the body asks for (a search may name them)."""
        return replace(super().to_filter(), ids=self.ids)


class ThreadStateUpdate(Body):
    values: Any = None
    as_node: str | None = None
    checkpoint: Checkpoint | None = None
    checkpoint_id: str | None = None


class ThreadHistory(Body):
    limit: int = Field(10, ge=1, le=1000)
    before: Checkpoint | str | None = None
    metadata: Json | None = None
    checkpoint: Checkpoint | None = None


class StateAtCheckpoint(Body):
    checkpoint: Checkpoint
    subgraphs: bool = False


class CancelMany(Body):
    thread_id: str | None = None
    run_ids: list[str] | None = None
    status: CancelStatus | None = None


class StorePut(Body):
    namespace: list[str]
    key: str
    value: Json
    index: Literal[False] | list[str] | None = None
    ttl: float | None = Field(None, gt=0, description="minutes until the item expires")


class StoreDelete(Body):
    namespace: list[str]
    key: str


class StoreSearch(_Page):
    namespace_prefix: list[str] = Field(default_factory=list)
    filter: Json | None = None
    query: str | None = None
    refresh_ttl: bool | None = None

    def to_search(self) -> SearchOp:
        """Return the body as LangGraph's search operation (`refresh_ttl` is accepted, as the
        sdk may send it, and not acted on: a search refreshes no item's TTL)."""
        return SearchOp(
            tuple(self.namespace_prefix), self.filter, self.limit, self.offset, self.query
        )


class StoreNamespaces(Body):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(None, ge=1)
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)

    def to_query(self) -> Namespaces:
        """Return the body as the runtime's namespace query."""
        return Namespaces(
            prefix=self.prefix,
            suffix=self.suffix,
            max_depth=self.max_depth,
            limit=self.limit,
            offset=self.offset,
        )


class _CronRun(Body):
    """What a cron's runs are started with, as created (a patch is the runtime's `CronPatch`)."""

    input: Any = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    interrupt_before: Breakpoints | None = None
    interrupt_after: Breakpoints | None = None
    webhook: str | None = None
    on_run_completed: OnCompletionBehavior | None = None
    end_time: datetime | None = None
    timezone: str | None = None
    stream_mode: StreamModes = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Durability | None = None


class CronCreate(_CronRun):
    schedule: str
    assistant_id: str
    checkpoint_during: bool | None = None
    enabled: bool = True
    multitask_strategy: MultitaskStrategy | None = None

    def to_request(self) -> CronRequest:
        """Return the body as the runtime's cron request."""
        return CronRequest(
            schedule=self.schedule,
            timezone=self.timezone,
            end_time=self.end_time,
            enabled=self.enabled,
            on_run_completed=self.on_run_completed,
            run=RunRequest(
                assistant_id=self.assistant_id,
                metadata=self.metadata,
                multitask_strategy=self.multitask_strategy,
                options=RunOptions(
                    input=self.input,
                    config=self.config,
                    context=self.context,
                    stream_mode=self.stream_mode or ("values",),
                    stream_subgraphs=bool(self.stream_subgraphs),
                    stream_resumable=bool(self.stream_resumable),
                    interrupt_before=self.interrupt_before,
                    interrupt_after=self.interrupt_after,
                    webhook=self.webhook,
                    durability=durability_of(self.durability, self.checkpoint_during),
                ),
            ),
        )


class CronCount(Body):
    assistant_id: str | None = None
    thread_id: str | None = None
    metadata: Json | None = None

    def to_filter(self) -> CronFilter:
        """Return the crons the body asks for."""
        return CronFilter(
            assistant_id=self.assistant_id, thread_id=self.thread_id, metadata=self.metadata
        )


class CronSearch(CronCount, Searching):
    enabled: bool | None = None
    sort_by: CronSortBy | None = None

    def to_filter(self) -> CronFilter:
        """Return the crons the body asks for (a search may ask for enabled or disabled ones)."""
        return replace(super().to_filter(), enabled=self.enabled)


class ThreadPrune(Body):
    thread_ids: list[str]
    strategy: PruneStrategy = "delete"
