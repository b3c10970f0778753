"""What every PostgreSQL module shares: the transaction type, how columns hold values, WHERE clauses.

JSON is stored as jsonb, times as timestamptz, a namespace as text[]; rows come back as dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from psycopg import AsyncConnection, AsyncCursor, sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from agent_ops.storage import _policy, _sql
from agent_ops.storage._records import Columns
from agent_ops.storage._requests import Page
from agent_ops.storage._wakeups import Tx as _Tx
from agent_ops.types import Json

Conn = AsyncConnection[DictRow]
Tx = _Tx[Conn]
NOTIFY_CHANNEL: Final = "agent_ops"


F = TypeVar("F", bound=Callable[..., Any])


def no_transaction(fn: F) -> F:
    """Mark a SQL function that `_tx` must not wrap in a transaction: it reads or writes with
    one statement (atomic by itself), with several whose order needs no isolation, or it opens
    a transaction itself where it needs one (`create_run` and `finish_run` call one routine on
    their common path and fall back to a transaction on `tx.conn` on the others). `_tx` runs it
    in autocommit, saving the BEGIN and COMMIT round trips; its wake-ups go out after it, so a
    listener still never hears of an uncommitted change."""
    fn.no_transaction = True  # type: ignore[attr-defined]
    return fn


def note(tx: Tx, channel: str, payload: str) -> str:
    """The NOTIFY payload of one wake-up of this transaction's process."""
    return f"{channel}|{payload}|{tx.token}"


def notes(tx: Tx) -> list[str]:
    """The NOTIFY payloads of the wake-ups raised and not yet sent, for the statement about to
    run to send (`SELECT pg_notify(channel, note) FROM unnest(notes)`); they count as sent."""
    pending = list(tx.raised())[tx.sent :]
    tx.sent += len(pending)
    return [note(tx, channel, payload) for channel, payload in pending]


async def send_pending(tx: Tx) -> None:
    """Send the wake-ups raised and not sent yet, as one statement of the transaction."""
    pending = notes(tx)
    if pending:
        await tx.conn.execute(
            "SELECT pg_notify(%s, note) FROM unnest(%s::text[]) AS note", (NOTIFY_CHANNEL, pending)
        )


def sent_by_statement(tx: Tx, channel: str, payload: str) -> None:
    """Raise a wake-up the statement that just ran already sent (SQL chose it from what the
    statement did), so it is delivered here after commit but not sent again. That statement
    sent `notes(tx)` too, so every wake-up raised before it counts as sent."""
    assert tx.sent == len(tx.wakeups), "the statement sent the wake-ups raised before it"
    if (channel, payload) not in tx.wakeups:  # else it went out already (PostgreSQL folds
        tx.notify(channel, payload)  # a repeated NOTIFY of one transaction into one)
        tx.sent += 1


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value)


def maybe_jsonb(value: Json | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _time(value: datetime) -> datetime:
    return value.astimezone(UTC)


COLUMNS = Columns(json=lambda value: value, time=_time, namespace=tuple)


class Where(_sql.Where):
    """WHERE clauses with `%s` placeholders and jsonb containment (`@>`)."""

    placeholder = "%s"
    like = "ILIKE %s"

    def contains(self, column: str, wanted: Json | None) -> Where:
        if wanted:
            self.add(f"{column} @> %s", Jsonb(wanted))
        return self


async def one(cursor: AsyncCursor[DictRow], missing: Exception) -> DictRow:
    """The row the statement found, or raise `missing`."""
    row = await cursor.fetchone()
    if row is None:
        raise missing
    return row


async def insert_new(
    tx: Tx, insert: str, params: Sequence[Any], if_exists: str, kind: str, name: str
) -> DictRow | None:
    """Run `insert` (an `INSERT ... ON CONFLICT DO NOTHING RETURNING *`) and return the row it
    wrote; None when the id was taken and `if_exists` answers with the stored one."""
    row = await (await tx.conn.execute(insert, params)).fetchone()
    if row is None:
        _policy.keep_existing(if_exists, kind, name)
    return row


async def search(tx: Tx, table: str, where: _sql.Where, page: Page) -> list[DictRow]:
    """A page of `table`'s rows, sorted as `page` asks (the table's id breaks ties)."""
    allowed, tiebreak = _policy.SORTABLE[table]
    column, direction = _policy.order(page.sort_by, page.sort_order, allowed, "created_at")
    query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)) + sql.SQL(where.sql())
    order = sql.SQL(" ORDER BY {} {}, {} LIMIT %s OFFSET %s").format(
        sql.Identifier(column), sql.SQL(direction), sql.Identifier(tiebreak)
    )
    cur = await tx.conn.execute(query + order, (*where.params, page.limit, page.offset))
    return await cur.fetchall()


async def count(tx: Tx, table: str, where: _sql.Where) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
    row = await one(
        await tx.conn.execute(query + sql.SQL(where.sql()), where.params), LookupError()
    )
    return int(row["n"])
