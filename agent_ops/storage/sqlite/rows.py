"""What every SQLite module shares: the transaction type, how columns hold values, WHERE clauses.

JSON is stored as text, times as epoch seconds (UTC), a namespace as its labels joined by U+001F.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agent_ops.storage import _policy, _sql
from agent_ops.storage._records import Columns
from agent_ops.storage._requests import Page
from agent_ops.storage._wakeups import Tx as _Tx
from agent_ops.types import Json

Tx = _Tx[sqlite3.Connection]
NS_SEP = "\x1f"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def maybe_dumps(value: Json | None) -> str | None:
    return None if value is None else dumps(value)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _time(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


COLUMNS = Columns(json=loads, time=_time, namespace=lambda text: tuple(text.split(NS_SEP)))


class Where(_sql.Where):
    """WHERE clauses with `?` placeholders and JSON read through `->`."""

    placeholder = "?"
    like = "LIKE ? ESCAPE '\\'"

    def contains(self, column: str, wanted: Json | None) -> Where:
        for key, value in (wanted or {}).items():
            path = '$."' + key.replace('"', '\\"') + '"'
            if isinstance(value, list):  # as PostgreSQL's @>: the stored list holds each one
                self.add(f"json_type({column}, ?) = 'array'", path)
                for item in value:  # the column read outside json_each, whose own `value`
                    self.add(  # column would otherwise shadow a column of that name
                        f"EXISTS (SELECT 1 FROM (SELECT {column} AS j) AS o,"
                        " json_each(o.j, ?) AS e WHERE e.value IS ?)",
                        path,
                        _element(item),
                    )
            else:
                self.add(f"{column} -> ? = ?", path, dumps(value))
        return self


def _element(item: Any) -> Any:
    """A list element as `json_each` reports it: scalars as SQL values, the rest as JSON text."""
    if isinstance(item, bool):
        return int(item)
    if item is None or isinstance(item, str | int | float):
        return item
    return json.dumps(item, separators=(",", ":"))


def one(cursor: sqlite3.Cursor, missing: Exception) -> sqlite3.Row:
    """The row the statement found, or raise `missing`."""
    row: sqlite3.Row | None = cursor.fetchone()
    if row is None:
        raise missing
    return row


def insert_new(
    tx: Tx, insert: str, params: Sequence[Any], if_exists: str, kind: str, name: str
) -> sqlite3.Row | None:
    """Run `insert` (an `INSERT ... ON CONFLICT DO NOTHING RETURNING *`) and return the row it
    wrote; None when the id was taken and `if_exists` answers with the stored one."""
    row: sqlite3.Row | None = tx.conn.execute(insert, params).fetchone()
    if row is None:
        _policy.keep_existing(if_exists, kind, name)
    return row


def search(tx: Tx, table: str, where: _sql.Where, page: Page) -> list[sqlite3.Row]:
    """A page of `table`'s rows, sorted as `page` asks (the table's id breaks ties)."""
    allowed, tiebreak = _policy.SORTABLE[table]
    column, direction = _policy.order(page.sort_by, page.sort_order, allowed, "created_at")
    rows: list[sqlite3.Row] = tx.conn.execute(
        f'SELECT * FROM {table}{where.sql()} ORDER BY "{column}" {direction}, {tiebreak}'
        " LIMIT ? OFFSET ?",
        (*where.params, page.limit, page.offset),
    ).fetchall()
    return rows


def count(tx: Tx, table: str, where: _sql.Where) -> int:
    row = tx.conn.execute(f"SELECT COUNT(*) FROM {table}{where.sql()}", where.params).fetchone()
    return int(row[0])
