"""Requests as the runtime takes them: one frozen value per kind (a run, a cron's run, a new
assistant, a new thread).

The server builds them from its request bodies, the cron scheduler from a cron's stored payload,
a trigger from an intake item. `RunOptions` is the part a run row keeps (its `kwargs` column) and
the executor reads back, so the same typed value travels from the edge to the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal, cast

from agent_ops.errors import InvalidInput
from agent_ops.storage import AssistantChanges
from agent_ops.types import (
    STREAM_MODES,
    DisconnectMode,
    Durability,
    IfNotExists,
    Json,
    MultitaskStrategy,
    OnCompletionBehavior,
    OnConflictBehavior,
    StreamMode,
)

Breakpoints = Literal["*"] | list[str]


def stream_modes(requested: str | Sequence[str] | None) -> tuple[StreamMode, ...]:
    """Return the requested stream modes (`values` when none); InvalidInput names an unknown one."""
    modes = [requested] if isinstance(requested, str) else list(requested or ["values"])
    unknown = [m for m in modes if not isinstance(m, str) or m not in STREAM_MODES]
    if unknown:
        raise InvalidInput(
            f"stream_mode {unknown[0]!r} is not supported; use one of {sorted(STREAM_MODES)}"
        )
    return tuple(cast(list[StreamMode], modes))


def check_configurable(config: Json | None, field: str = "config") -> None:
    """Refuse `configurable` keys starting with `__`: they are the server's own (the run's deps,
    LangGraph's internals), so a client that sends one is told, not obeyed."""
    configurable = (config or {}).get("configurable")
    if not isinstance(configurable, dict):
        return
    for key in configurable:
        if str(key).startswith("__"):
            raise InvalidInput(
                f"{field}.configurable.{key} is not allowed: keys starting with '__' are "
                "reserved for the server"
            )


def durability_of(
    durability: Durability | None, checkpoint_during: bool | None
) -> Durability | None:
    """Return the durability a request asks for; the older `checkpoint_during` flag maps to it."""
    if durability is None and checkpoint_during is not None:
        return "async" if checkpoint_during else "exit"
    return durability


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to execute a run: what its graph gets, what it streams, where it starts."""

    input: Any = None
    command: Json | None = None
    config: Json | None = None
    context: Json | None = None
    stream_mode: tuple[StreamMode, ...] = ("values",)
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Breakpoints | None = None
    interrupt_after: Breakpoints | None = None
    webhook: str | None = None
    checkpoint: Json | None = None
    checkpoint_id: str | None = None
    on_disconnect: DisconnectMode | None = None
    on_completion: OnCompletionBehavior | None = None
    durability: Durability | None = None
    strict_resume: bool | None = None
    feedback_keys: list[str] | None = None
    langsmith_tracer: Json | None = None

    def __post_init__(self) -> None:
        if self.command is not None and self.input is not None:
            raise InvalidInput("give either input or command, not both")
        check_configurable(self.config)

    @property
    def resumes(self) -> bool:
        """Whether the run continues an interrupted thread (`command.resume`)."""
        return self.command is not None and self.command.get("resume") is not None

    def to_json(self) -> Json:
        """Return the options as a run row keeps them (unset ones left out)."""
        out: Json = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_json(cls, kwargs: Json) -> RunOptions:
        """Read the options back from a run row.

        Keys this version does not know are passed over: a row written by an older version
        (a cron's run once kept the cron's own fields) must still execute after an upgrade.
        """
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in kwargs.items() if k in known and v is not None}
        values["stream_mode"] = stream_modes(values.get("stream_mode"))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A request for one run of an assistant (or a graph id standing for its default one)."""

    assistant_id: str
    options: RunOptions = field(default_factory=RunOptions)
    metadata: Json | None = None
    multitask_strategy: MultitaskStrategy | None = None
    if_not_exists: IfNotExists | None = None
    after_seconds: float = 0.0

    def with_values_streamed(self) -> RunRequest:
        """Return the request with `values` among its stream modes (waiting reads them)."""
        if "values" in self.options.stream_mode:
            return self
        options = replace(self.options, stream_mode=(*self.options.stream_mode, "values"))
        return replace(self, options=options)


# Fields of a cron's payload that describe the cron, not the runs it fires.
_CRON_ONLY = frozenset({"schedule", "timezone", "end_time", "enabled", "on_run_completed"})


@dataclass(frozen=True, slots=True)
class CronRequest:
    """A request for runs on a schedule: the run each firing starts, and when it fires."""

    schedule: str
    run: RunRequest
    timezone: str | None = None
    end_time: datetime | None = None
    enabled: bool = True
    on_run_completed: OnCompletionBehavior | None = None

    def payload(self) -> Json:
        """Return what a cron row keeps of the request: the run's fields and the time zone."""
        payload: Json = {
            **self.run.options.to_json(),
            "assistant_id": self.run.assistant_id,
        }
        if self.run.metadata is not None:
            payload["metadata"] = self.run.metadata
        if self.run.multitask_strategy is not None:
            payload["multitask_strategy"] = self.run.multitask_strategy
        if self.timezone is not None:
            payload["timezone"] = self.timezone
        if self.on_run_completed is not None:
            payload["on_run_completed"] = self.on_run_completed
        return payload


def run_of_cron_payload(payload: Json) -> RunRequest:
    """Return the run a cron fires, read from the cron's stored payload."""
    run_fields = {k: v for k, v in payload.items() if k not in _CRON_ONLY}
    durability = durability_of(
        run_fields.pop("durability", None), run_fields.pop("checkpoint_during", None)
    )
    return RunRequest(
        assistant_id=run_fields.pop("assistant_id"),
        metadata=run_fields.pop("metadata", None),
        multitask_strategy=run_fields.pop("multitask_strategy", None),
        options=RunOptions.from_json({**run_fields, "durability": durability}),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantRequest:
    """A request for a new assistant of `graph_id`: the id it takes (a new one when None), what
    to do when that id exists (None: raise), and what describes it (`described`: name,
    description, config, context, metadata, read as a change is; its graph_id is this one)."""

    graph_id: str
    assistant_id: str | None = None
    if_exists: OnConflictBehavior | None = None
    described: AssistantChanges = AssistantChanges()

    def given(self) -> Json:
        """Return the fields by name, as handlers and the audit read them."""
        return {**self.described.given(), "graph_id": self.graph_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadRequest:
    """A request for a new thread: its id (a new one when None), its metadata, what to do when
    the id exists (None: raise), and the supersteps of state updates to replay onto it."""

    thread_id: str | None = None
    metadata: Json | None = None
    if_exists: OnConflictBehavior | None = None
    supersteps: Sequence[Json] = ()


NEW_THREAD = ThreadRequest()
"""A thread with a new id and nothing else asked (frozen, so shared)."""
