"""What a statement returns, and its JSON form: exact decimals as strings, dates in ISO 8601."""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Rows:
    """The first rows of a result; `truncated` when the database had more than `max_rows`."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool
    affected: int | None = None  # rows a write changed, when the driver knows


def take(columns: Sequence[str], rows: Sequence[Sequence[Any]], max_rows: int) -> Rows:
    """Keep `max_rows` of `rows` (the caller fetched one more to learn whether there are more)."""
    return Rows(
        columns=tuple(columns),
        rows=tuple(tuple(row) for row in rows[:max_rows]),
        truncated=len(rows) > max_rows,
    )


def json_value(value: Any) -> Any:
    """Turn one database value into a JSON value without losing precision."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)  # network addresses, ranges, enums: their text form is what a reader wants


def render(query: str, rows: Rows) -> dict[str, Any]:
    """The tool result: one object per row, keyed by column name."""
    result: dict[str, Any] = {
        "query": query,
        "columns": list(rows.columns),
        "rows": [
            {column: json_value(value) for column, value in zip(rows.columns, row, strict=True)}
            for row in rows.rows
        ],
        "row_count": len(rows.rows),
        "truncated": rows.truncated,
    }
    if rows.affected is not None:
        result["affected_rows"] = rows.affected
    return result
