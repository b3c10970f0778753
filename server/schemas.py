"""Request bodies of the LangGraph Server API. Unknown fields are rejected (422 naming them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_ops.types import (
    AssistantSortBy,
    CancelAction,
    DisconnectMode,
    Durability,
    IfNotExists,
    MultitaskStrategy,
    OnCompletionBehavior,
    OnConflictBehavior,
    SortOrder,
    ThreadSortBy,
    ThreadStatus,
)

Json = dict[str, Any]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    stream_mode: str | list[str] | None = None
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
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

    def as_request(self) -> Json:
        data = self.model_dump(exclude_none=True)
        if self.checkpoint_during is not None and self.durability is None:
            data["durability"] = "async" if self.checkpoint_during else "exit"
        data.pop("checkpoint_during", None)
        return data


class AssistantCreate(Body):
    graph_id: str
    assistant_id: str | None = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    if_exists: OnConflictBehavior | None = None
    name: str | None = None
    description: str | None = None


class AssistantPatch(Body):
    graph_id: str | None = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    name: str | None = None
    description: str | None = None


class AssistantSearch(Body):
    metadata: Json | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    sort_by: AssistantSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[str] | None = None


class AssistantCount(Body):
    metadata: Json | None = None
    graph_id: str | None = None
    name: str | None = None


class AssistantVersions(Body):
    metadata: Json | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class AssistantLatest(Body):
    version: int = Field(ge=1)


class ThreadCreate(Body):
    thread_id: str | None = None
    metadata: Json | None = None
    if_exists: OnConflictBehavior | None = None
    supersteps: list[Json] | None = None
    ttl: Json | None = None


class ThreadPatch(Body):
    metadata: Json = Field(default_factory=dict)
    ttl: Json | None = None


class ThreadSearch(Body):
    ids: list[str] | None = None
    metadata: Json | None = None
    values: Json | None = None
    status: ThreadStatus | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    sort_by: ThreadSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[str] | None = None


class ThreadCount(Body):
    metadata: Json | None = None
    values: Json | None = None
    status: ThreadStatus | None = None


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
    status: Literal["pending", "running", "all"] | None = None


class CancelQuery(Body):
    wait: bool = False
    action: CancelAction = "interrupt"


class StorePut(Body):
    namespace: list[str]
    key: str
    value: Json
    index: Literal[False] | list[str] | None = None
    ttl: float | None = Field(None, gt=0, description="minutes until the item expires")


class StoreDelete(Body):
    namespace: list[str]
    key: str


class StoreSearch(Body):
    namespace_prefix: list[str] = Field(default_factory=list)
    filter: Json | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    query: str | None = None
    refresh_ttl: bool | None = None


class StoreNamespaces(Body):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(None, ge=1)
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class CronCreate(Body):
    schedule: str
    assistant_id: str
    input: Any = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    checkpoint_during: bool | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    webhook: str | None = None
    on_run_completed: OnCompletionBehavior | None = None
    end_time: datetime | None = None
    enabled: bool = True
    timezone: str | None = None
    stream_mode: str | list[str] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Durability | None = None
    multitask_strategy: MultitaskStrategy | None = None


class CronPatch(Body):
    schedule: str | None = None
    input: Any = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    webhook: str | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    on_run_completed: OnCompletionBehavior | None = None
    end_time: datetime | None = None
    enabled: bool | None = None
    timezone: str | None = None
    stream_mode: str | list[str] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Durability | None = None


class CronSearch(Body):
    assistant_id: str | None = None
    thread_id: str | None = None
    enabled: bool | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    sort_by: (
        Literal[
            "cron_id",
            "assistant_id",
            "thread_id",
            "created_at",
            "updated_at",
            "next_run_date",
            "end_time",
        ]
        | None
    ) = None
    sort_order: SortOrder | None = None
    select: list[str] | None = None
    metadata: Json | None = None


class CronCount(Body):
    assistant_id: str | None = None
    thread_id: str | None = None
    metadata: Json | None = None


class ThreadPrune(Body):
    thread_ids: list[str]
    strategy: Literal["delete", "keep_latest"] = "delete"
