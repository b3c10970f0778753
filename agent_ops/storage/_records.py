"""Rows to records, written once for both backends.

A backend's rows differ only in how a column holds a value (SQLite: JSON text, epoch seconds, a
joined namespace; PostgreSQL: jsonb, timestamptz, text[]); each backend names its `Columns`
and these functions build the same records from either. A record's fields are read from the
columns of the same name; each record's shape names only the fields to convert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from agent_ops.storage._policy import NewRun
from agent_ops.storage.records import (
    ApiKey,
    Assistant,
    Cron,
    IntakeEntry,
    IntakeItem,
    ModelDecision,
    Run,
    StoreItem,
    Thread,
)
from agent_ops.types import DEFAULT_TENANT


class Row(Protocol):
    """A row read by name: `sqlite3.Row` or psycopg's dict row."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Columns:
    """How one backend's columns hold JSON, times and namespaces."""

    json: Callable[[Any], Any]
    time: Callable[[Any], datetime]
    namespace: Callable[[Any], tuple[str, ...]]

    def maybe_time(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)


Kind = Literal["json", "time", "maybe_time", "flag", "namespace"]


@dataclass(frozen=True, slots=True)
class _Shape:
    """How to read one record from a row: the fields to convert, and columns named otherwise."""

    names: tuple[str, ...]
    kinds: dict[str, Kind]
    columns: dict[str, str] = field(default_factory=dict)


def _shape(
    record: type,
    *,
    json: str = "",
    time: str = "created_at updated_at",
    maybe_time: str = "",
    flag: str = "",
    namespace: str = "",
    columns: dict[str, str] | None = None,
) -> _Shape:
    """Name each kind's fields in one space-separated string."""
    named: dict[Kind, str] = {
        "json": json,
        "time": time,
        "maybe_time": maybe_time,
        "flag": flag,
        "namespace": namespace,
    }
    kinds = {name: kind for kind, names in named.items() for name in names.split()}
    return _Shape(tuple(f.name for f in fields(record)), kinds, columns or {})


R = TypeVar("R")


def _build(record: type[R], shape: _Shape, r: Row, c: Columns) -> R:
    convert: dict[Kind, Callable[[Any], Any]] = {
        "json": c.json,
        "time": c.time,
        "maybe_time": c.maybe_time,
        "flag": bool,
        "namespace": c.namespace,
    }
    values: dict[str, Any] = {}
    for name in shape.names:
        value = r[shape.columns.get(name, name)]
        kind = shape.kinds.get(name)
        values[name] = value if kind is None else convert[kind](value)
    return record(**values)


def reader(record: type[R], **kinds: Any) -> Callable[[Row, Columns], R]:
    """A function reading `record` from a row; `kinds` as `_shape` takes them (the other
    fields are read as the column of the same name holds them)."""
    shape = _shape(record, **kinds)

    def read(r: Row, c: Columns) -> R:
        return _build(record, shape, r, c)

    return read


assistant = reader(Assistant, json="config context metadata")
# A version row has no `updated_at`: the version's creation is its last change.
assistant_version = reader(
    Assistant, json="config context metadata", columns={"updated_at": "created_at"}
)
thread = reader(
    Thread, json="metadata values interrupts", time="created_at updated_at state_updated_at"
)
run = reader(
    Run,
    json="metadata kwargs output",
    time="not_before created_at updated_at",
    maybe_time="lease_expires_at",
    flag="stateless",
)
item = reader(StoreItem, json="value", maybe_time="expires_at", namespace="namespace")
cron = reader(Cron, json="payload metadata", maybe_time="next_run_date end_time", flag="enabled")
intake = reader(
    IntakeItem,
    json="summary",
    time="created_at",
    maybe_time="settled_at",
    columns={"key": "item_key"},
)
decision = reader(ModelDecision, json="output", time="created_at")
api_key = reader(ApiKey, time="created_at", maybe_time="expires_at revoked_at")


def intake_params(entry: IntakeEntry, new: NewRun, json: Callable[[Any], Any]) -> tuple[Any, ...]:
    """source, item_key, tenant_id, origin, summary, run_id, thread_id, assistant_id"""
    return (
        entry.source,
        entry.key,
        new.tenant_id,
        entry.origin,
        json(entry.summary),
        new.run_id,
        new.thread_id,
        new.assistant_id,
    )


DECISION_COLUMNS = (
    "decision_id, tenant_id, run_id, thread_id, role, provider, model, prompt_name,"
    " prompt_version, input_hash, output, error, latency_ms, input_tokens, output_tokens,"
    " token_source, cost_usd, created_at, error_kind, queue_ms, generation_ms"
)
DECISION_COLUMN_COUNT = DECISION_COLUMNS.count(",") + 1


def decision_params(d: ModelDecision, *, output: Any, created_at: Any) -> tuple[Any, ...]:
    """The values of one row, in `DECISION_COLUMNS` order; the backend encodes output and time."""
    return (
        d.decision_id,
        DEFAULT_TENANT,
        d.run_id,
        d.thread_id,
        d.role,
        d.provider,
        d.model,
        d.prompt_name,
        d.prompt_version,
        d.input_hash,
        output,
        d.error,
        d.latency_ms,
        d.input_tokens,
        d.output_tokens,
        d.token_source,
        d.cost_usd,
        created_at,
        d.error_kind,
        d.queue_ms,
        d.generation_ms,
    )
