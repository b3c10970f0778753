"""What every PostgreSQL module shares: the transaction type, how columns hold values, WHERE clauses.

JSON is stored as jsonb, times as timestamptz, a namespace as text[]; rows come back as dicts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from agent_ops.storage import _policy
from agent_ops.storage._records import Columns
from agent_ops.storage._sql import Where
from agent_ops.storage._wakeups import Tx as _Tx
from agent_ops.types import Json, SortOrder

Conn = AsyncConnection[DictRow]
Tx = _Tx[Conn]
NOTIFY_CHANNEL: Final = "agent_ops"


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value)


def maybe_jsonb(value: Json | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _time(value: datetime) -> datetime:
    return value.astimezone(UTC)


COLUMNS = Columns(json=lambda value: value, time=_time, namespace=tuple)


def order_by(
    sort_by: str | None, sort_order: SortOrder | None, allowed: frozenset[str], tiebreak: str
) -> sql.Composed:
    column, direction = _policy.order(sort_by, sort_order, allowed, "created_at")
    return sql.SQL(" ORDER BY {} {}, {}").format(
        sql.Identifier(column), sql.SQL(direction), sql.Identifier(tiebreak)
    )


def contains(where: Where, column: str, wanted: Json | None) -> None:
    """Require the jsonb `column` to contain `wanted` (PostgreSQL `@>`)."""
    if wanted:
        where.add(f"{column} @> %s", Jsonb(wanted))
