"""What the PostgreSQL backend's SQL modules share: the transaction handle and row conversion.

A `Tx` is one open transaction plus the wake-ups it raised: `pg_notify` runs inside the
transaction (PostgreSQL delivers it to other processes on commit) and the storage hands the
same wake-ups to this process's listeners once the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from agent_ops.errors import InvalidInput
from agent_ops.storage.records import Assistant, Cron, Run, StoreItem, Thread
from agent_ops.types import Json, SortOrder

NOTIFY_CHANNEL = "agent_ops"
INFLIGHT = "('pending', 'running')"

Conn = AsyncConnection[DictRow]


@dataclass(slots=True)
class Tx:
    """An open transaction and the wake-ups to deliver locally after it commits."""

    conn: Conn
    token: str
    wakeups: list[tuple[str, str]] = field(default_factory=list)

    async def notify(self, channel: str, payload: str) -> None:
        """Queue a wake-up: NOTIFY other processes on commit, local listeners after it."""
        await self.conn.execute(
            "SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, f"{channel}|{payload}|{self.token}")
        )
        self.wakeups.append((channel, payload))


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value)


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def order_by(
    sort_by: str | None,
    sort_order: SortOrder | None,
    allowed: frozenset[str],
    default: str,
    tiebreak: str,
) -> sql.Composed:
    """Return a safe ORDER BY clause for a whitelisted column; unknown columns are InvalidInput."""
    column = sort_by or default
    if column not in allowed:
        raise InvalidInput(f"sort_by {column!r} is not one of {sorted(allowed)}")
    direction = sql.SQL("ASC" if sort_order == "asc" else "DESC")
    return sql.SQL(" ORDER BY {} {}, {}").format(
        sql.Identifier(column), direction, sql.Identifier(tiebreak)
    )


@dataclass(slots=True)
class Where:
    """A WHERE clause built from optional filters, with its parameters."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def contains(self, column: str, wanted: Json | None) -> None:
        """Require the jsonb `column` to contain `wanted` (PostgreSQL `@>`)."""
        if wanted:
            self.add(f"{column} @> %s", Jsonb(wanted))

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


def assistant_from_row(r: DictRow) -> Assistant:
    return Assistant(
        assistant_id=r["assistant_id"],
        graph_id=r["graph_id"],
        name=r["name"],
        description=r["description"],
        config=r["config"],
        context=r["context"],
        metadata=r["metadata"],
        version=r["version"],
        created_at=_utc(r["created_at"]),
        updated_at=_utc(r.get("updated_at") or r["created_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def thread_from_row(r: DictRow) -> Thread:
    return Thread(
        thread_id=r["thread_id"],
        status=r["status"],
        metadata=r["metadata"],
        values=r["values"],
        interrupts=r["interrupts"],
        error=r["error"],
        created_at=_utc(r["created_at"]),
        updated_at=_utc(r["updated_at"]),
        state_updated_at=_utc(r["state_updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def run_from_row(r: DictRow) -> Run:
    return Run(
        run_id=r["run_id"],
        thread_id=r["thread_id"],
        assistant_id=r["assistant_id"],
        status=r["status"],
        metadata=r["metadata"],
        kwargs=r["kwargs"],
        multitask_strategy=r["multitask_strategy"],
        stateless=r["stateless"],
        attempt=r["attempt"],
        worker_id=r["worker_id"],
        lease_expires_at=utc(r["lease_expires_at"]),
        cancel_action=r["cancel_action"],
        error=r["error"],
        not_before=_utc(r["not_before"]),
        created_at=_utc(r["created_at"]),
        updated_at=_utc(r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
        output=r["output"],
    )


def item_from_row(r: DictRow) -> StoreItem:
    return StoreItem(
        namespace=tuple(r["namespace"]),
        key=r["key"],
        value=r["value"],
        created_at=_utc(r["created_at"]),
        updated_at=_utc(r["updated_at"]),
        expires_at=utc(r["expires_at"]),
    )


def cron_from_row(r: DictRow) -> Cron:
    return Cron(
        cron_id=r["cron_id"],
        assistant_id=r["assistant_id"],
        thread_id=r["thread_id"],
        schedule=r["schedule"],
        payload=r["payload"],
        metadata=r["metadata"],
        next_run_date=utc(r["next_run_date"]),
        end_time=utc(r["end_time"]),
        enabled=r["enabled"],
        created_at=_utc(r["created_at"]),
        updated_at=_utc(r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def labels(namespace: Sequence[str]) -> list[str]:
    """Validate a store namespace: a non-empty sequence of non-empty labels."""
    found = list(namespace)
    if not found or any(not label for label in found):
        raise InvalidInput(f"store namespace {found!r} must be non-empty labels")
    return found
