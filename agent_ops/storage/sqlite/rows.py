"""What every SQLite module shares: the transaction type, how columns hold values, WHERE clauses.

JSON is stored as text, times as epoch seconds (UTC), a namespace as its labels joined by U+001F.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from agent_ops.storage import _policy
from agent_ops.storage._records import Columns
from agent_ops.storage._sql import Where
from agent_ops.storage._wakeups import Tx as _Tx
from agent_ops.types import Json, SortOrder

Tx = _Tx[sqlite3.Connection]
NS_SEP = "\x1f"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _time(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


COLUMNS = Columns(json=loads, time=_time, namespace=lambda text: tuple(text.split(NS_SEP)))


def order_by(
    sort_by: str | None, sort_order: SortOrder | None, allowed: frozenset[str], tiebreak: str
) -> str:
    column, direction = _policy.order(sort_by, sort_order, allowed, "created_at")
    return f' ORDER BY "{column}" {direction}, {tiebreak}'


def contains(where: Where, column: str, wanted: Json | None) -> None:
    """Require the JSON `column` to hold every top-level key/value of `wanted`."""
    for key, value in (wanted or {}).items():
        where.add(f"{column} -> ? = ?", '$."' + key.replace('"', '\\"') + '"', dumps(value))
