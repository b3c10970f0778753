"""Assistants, threads and crons on PostgreSQL: the named resources the API creates and searches.

Each function runs inside one transaction handed in by `PostgresStorage`. JSON filters use
jsonb containment (`@>`), names match as case-insensitive substrings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from psycopg import errors as pg_errors
from psycopg import sql

from agent_ops.errors import Conflict, NotFound
from agent_ops.storage._pg_queue import settle_thread
from agent_ops.storage._pg_rows import (
    Tx,
    Where,
    assistant_from_row,
    cron_from_row,
    jsonb,
    order_by,
    thread_from_row,
)
from agent_ops.storage.records import Assistant, Cron, Thread
from agent_ops.types import (
    ASSISTANT_SORT_COLUMNS,
    CRON_SORT_COLUMNS,
    DEFAULT_OWNER,
    DEFAULT_TENANT,
    THREAD_SORT_COLUMNS,
    Json,
    SortOrder,
)

ASSISTANT_SORT = ASSISTANT_SORT_COLUMNS
THREAD_SORT = THREAD_SORT_COLUMNS
CRON_SORT = CRON_SORT_COLUMNS

Query = str | sql.Composed
Params = Sequence[Any] | Mapping[str, Any]


async def _query(tx: Tx, query: Query, params: Params = ()) -> list[Any]:
    cur = await tx.conn.execute(query, params)
    return await cur.fetchall()


async def _one(tx: Tx, query: Query, params: Params, missing: str) -> Any:
    cur = await tx.conn.execute(query, params)
    row = await cur.fetchone()
    if row is None:
        raise NotFound(missing)
    return row


def _ilike(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# -- assistants ---------------------------------------------------------------------------------
async def create_assistant(
    tx: Tx,
    *,
    assistant_id: str,
    graph_id: str,
    name: str,
    description: str | None,
    config: Json,
    context: Json,
    metadata: Json,
    if_exists: str,
) -> Assistant:
    cur = await tx.conn.execute(
        "INSERT INTO assistants (assistant_id, tenant_id, owner, graph_id, name, description,"
        " config, context, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (assistant_id) DO NOTHING RETURNING *",
        (
            assistant_id,
            DEFAULT_TENANT,
            DEFAULT_OWNER,
            graph_id,
            name,
            description,
            jsonb(config),
            jsonb(context),
            jsonb(metadata),
        ),
    )
    row = await cur.fetchone()
    if row is None:
        if if_exists == "do_nothing":
            return await get_assistant(tx, assistant_id)
        raise Conflict(f"assistant {assistant_id} already exists")
    await tx.conn.execute(
        "INSERT INTO assistant_versions (assistant_id, version, tenant_id, owner, graph_id, name,"
        " description, config, context, metadata, created_at)"
        " SELECT assistant_id, version, tenant_id, owner, graph_id, name, description, config,"
        " context, metadata, created_at FROM assistants WHERE assistant_id = %s",
        (assistant_id,),
    )
    return assistant_from_row(row)


async def get_assistant(tx: Tx, assistant_id: str, *, lock: bool = False) -> Assistant:
    row = await _one(
        tx,
        "SELECT * FROM assistants WHERE assistant_id = %s" + (" FOR UPDATE" if lock else ""),
        (assistant_id,),
        f"assistant {assistant_id} not found",
    )
    return assistant_from_row(row)


async def update_assistant(
    tx: Tx,
    assistant_id: str,
    *,
    graph_id: str | None,
    name: str | None,
    description: str | None,
    config: Json | None,
    context: Json | None,
    metadata: Json | None,
) -> Assistant:
    current = await get_assistant(tx, assistant_id, lock=True)
    row = await _one(
        tx,
        "SELECT max(version) + 1 AS v FROM assistant_versions WHERE assistant_id = %s",
        (assistant_id,),
        f"assistant {assistant_id} not found",
    )
    fields = {
        "graph_id": graph_id or current.graph_id,
        "name": name or current.name,
        "description": description if description is not None else current.description,
        "config": jsonb(config if config is not None else current.config),
        "context": jsonb(context if context is not None else current.context),
        "metadata": jsonb({**current.metadata, **(metadata or {})}),
        "version": row["v"],
        "assistant_id": assistant_id,
    }
    await tx.conn.execute(
        "INSERT INTO assistant_versions (assistant_id, version, tenant_id, owner, graph_id, name,"
        " description, config, context, metadata) SELECT %(assistant_id)s, %(version)s,"
        " tenant_id, owner, %(graph_id)s, %(name)s, %(description)s, %(config)s, %(context)s,"
        " %(metadata)s FROM assistants WHERE assistant_id = %(assistant_id)s",
        fields,
    )
    cur = await tx.conn.execute(
        "UPDATE assistants SET graph_id = %(graph_id)s, name = %(name)s,"
        " description = %(description)s, config = %(config)s, context = %(context)s,"
        " metadata = %(metadata)s, version = %(version)s, updated_at = now()"
        " WHERE assistant_id = %(assistant_id)s RETURNING *",
        fields,
    )
    updated = await cur.fetchone()
    assert updated is not None
    return assistant_from_row(updated)


async def delete_assistant(tx: Tx, assistant_id: str) -> None:
    await _one(
        tx,
        "DELETE FROM assistants WHERE assistant_id = %s RETURNING assistant_id",
        (assistant_id,),
        f"assistant {assistant_id} not found",
    )


def assistant_filter(graph_id: str | None, name: str | None, metadata: Json | None) -> Where:
    where = Where()
    if graph_id is not None:
        where.add("graph_id = %s", graph_id)
    if name is not None:
        where.add("name ILIKE %s", _ilike(name))
    where.contains("metadata", metadata)
    return where


async def search_assistants(
    tx: Tx,
    where: Where,
    limit: int,
    offset: int,
    sort_by: str | None,
    sort_order: SortOrder | None,
) -> list[Assistant]:
    order = order_by(sort_by, sort_order, ASSISTANT_SORT, "created_at", "assistant_id")
    query = sql.SQL("SELECT * FROM assistants") + sql.SQL(where.sql()) + order
    rows = await _query(tx, query + sql.SQL(" LIMIT %s OFFSET %s"), (*where.params, limit, offset))
    return [assistant_from_row(r) for r in rows]


async def count(tx: Tx, table: str, where: Where) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
    rows = await _query(tx, query + sql.SQL(where.sql()), where.params)
    return int(rows[0]["n"])


async def list_assistant_versions(
    tx: Tx, assistant_id: str, metadata: Json | None, limit: int, offset: int
) -> list[Assistant]:
    await get_assistant(tx, assistant_id)
    where = Where()
    where.add("assistant_id = %s", assistant_id)
    where.contains("metadata", metadata)
    rows = await _query(
        tx,
        f"SELECT * FROM assistant_versions{where.sql()} ORDER BY version DESC LIMIT %s OFFSET %s",
        (*where.params, limit, offset),
    )
    return [assistant_from_row(r) for r in rows]


async def set_assistant_version(tx: Tx, assistant_id: str, version: int) -> Assistant:
    await get_assistant(tx, assistant_id, lock=True)
    row = await _one(
        tx,
        "UPDATE assistants a SET graph_id = v.graph_id, name = v.name,"
        " description = v.description, config = v.config, context = v.context,"
        " metadata = v.metadata, version = v.version, updated_at = now()"
        " FROM assistant_versions v WHERE a.assistant_id = %s"
        " AND v.assistant_id = a.assistant_id AND v.version = %s RETURNING a.*",
        (assistant_id, version),
        f"assistant {assistant_id} has no version {version}",
    )
    return assistant_from_row(row)


# -- threads ------------------------------------------------------------------------------------
async def create_thread(tx: Tx, thread_id: str, metadata: Json, if_exists: str) -> Thread:
    cur = await tx.conn.execute(
        "INSERT INTO threads (thread_id, tenant_id, owner, metadata) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (thread_id) DO NOTHING RETURNING *",
        (thread_id, DEFAULT_TENANT, DEFAULT_OWNER, jsonb(metadata)),
    )
    row = await cur.fetchone()
    if row is None:
        if if_exists == "do_nothing":
            return await get_thread(tx, thread_id)
        raise Conflict(f"thread {thread_id} already exists")
    return thread_from_row(row)


async def get_thread(tx: Tx, thread_id: str) -> Thread:
    row = await _one(
        tx,
        "SELECT * FROM threads WHERE thread_id = %s",
        (thread_id,),
        f"thread {thread_id} not found",
    )
    return thread_from_row(row)


async def update_thread(tx: Tx, thread_id: str, metadata: Json) -> Thread:
    row = await _one(
        tx,
        "UPDATE threads SET metadata = metadata || %s, updated_at = now() WHERE thread_id = %s"
        " RETURNING *",
        (jsonb(metadata), thread_id),
        f"thread {thread_id} not found",
    )
    return thread_from_row(row)


async def delete_thread(tx: Tx, thread_id: str) -> None:
    await _one(
        tx,
        "DELETE FROM threads WHERE thread_id = %s RETURNING thread_id",
        (thread_id,),
        f"thread {thread_id} not found",
    )


def thread_filter(
    ids: Sequence[str] | None, metadata: Json | None, values: Json | None, status: str | None
) -> Where:
    where = Where()
    if ids is not None:
        where.add("thread_id = ANY(%s)", list(ids))
    if status is not None:
        where.add("status = %s", status)
    where.contains("metadata", metadata)
    where.contains('"values"', values)
    return where


async def search_threads(
    tx: Tx,
    where: Where,
    limit: int,
    offset: int,
    sort_by: str | None,
    sort_order: SortOrder | None,
) -> list[Thread]:
    order = order_by(sort_by, sort_order, THREAD_SORT, "created_at", "thread_id")
    query = sql.SQL("SELECT * FROM threads") + sql.SQL(where.sql()) + order
    rows = await _query(tx, query + sql.SQL(" LIMIT %s OFFSET %s"), (*where.params, limit, offset))
    return [thread_from_row(r) for r in rows]


async def set_thread_state(
    tx: Tx, thread_id: str, values: Json | None, interrupts: Json, status: str | None
) -> Thread:
    await _one(
        tx,
        'UPDATE threads SET "values" = %s, interrupts = %s, state_updated_at = now(),'
        " updated_at = now() WHERE thread_id = %s RETURNING thread_id",
        (None if values is None else jsonb(values), jsonb(interrupts), thread_id),
        f"thread {thread_id} not found",
    )
    if status is not None:
        await tx.conn.execute(
            "UPDATE threads SET status = %s WHERE thread_id = %s", (status, thread_id)
        )
    else:
        await settle_thread(tx, thread_id, "interrupted" if interrupts else "idle")
    return await get_thread(tx, thread_id)


# -- crons --------------------------------------------------------------------------------------
async def create_cron(
    tx: Tx,
    *,
    cron_id: str,
    assistant_id: str,
    thread_id: str | None,
    schedule: str,
    payload: Json,
    metadata: Json,
    next_run_date: datetime,
    end_time: datetime | None,
    enabled: bool,
) -> Cron:
    try:
        cur = await tx.conn.execute(
            "INSERT INTO crons (cron_id, tenant_id, owner, assistant_id, thread_id, schedule,"
            " payload, metadata, next_run_date, end_time, enabled)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (
                cron_id,
                DEFAULT_TENANT,
                DEFAULT_OWNER,
                assistant_id,
                thread_id,
                schedule,
                jsonb(payload),
                jsonb(metadata),
                next_run_date,
                end_time,
                enabled,
            ),
        )
    except pg_errors.ForeignKeyViolation as exc:
        raise NotFound(f"thread {thread_id} not found") from exc
    except pg_errors.UniqueViolation as exc:
        raise Conflict(f"cron {cron_id} already exists") from exc
    row = await cur.fetchone()
    assert row is not None
    return cron_from_row(row)


async def get_cron(tx: Tx, cron_id: str) -> Cron:
    row = await _one(
        tx, "SELECT * FROM crons WHERE cron_id = %s", (cron_id,), f"cron {cron_id} not found"
    )
    return cron_from_row(row)


async def update_cron(tx: Tx, cron_id: str, changes: dict[str, Any], metadata: Json) -> Cron:
    sets = sql.SQL("").join(
        sql.SQL(", {} = {}").format(sql.Identifier(column), sql.Placeholder(column))
        for column in changes
    )
    query = sql.SQL(
        "UPDATE crons SET updated_at = now(), metadata = metadata || %(metadata)s{}"
        " WHERE cron_id = %(cron_id)s RETURNING *"
    ).format(sets)
    params = {**changes, "metadata": jsonb(metadata), "cron_id": cron_id}
    row = await _one(tx, query, params, f"cron {cron_id} not found")
    return cron_from_row(row)


async def delete_cron(tx: Tx, cron_id: str) -> None:
    await _one(
        tx,
        "DELETE FROM crons WHERE cron_id = %s RETURNING cron_id",
        (cron_id,),
        f"cron {cron_id} not found",
    )


def cron_filter(assistant_id: str | None, thread_id: str | None, enabled: bool | None) -> Where:
    where = Where()
    if assistant_id is not None:
        where.add("assistant_id = %s", assistant_id)
    if thread_id is not None:
        where.add("thread_id = %s", thread_id)
    if enabled is not None:
        where.add("enabled = %s", enabled)
    return where


async def search_crons(
    tx: Tx,
    where: Where,
    limit: int,
    offset: int,
    sort_by: str | None,
    sort_order: SortOrder | None,
) -> list[Cron]:
    order = order_by(sort_by, sort_order, CRON_SORT, "created_at", "cron_id")
    query = sql.SQL("SELECT * FROM crons") + sql.SQL(where.sql()) + order
    rows = await _query(tx, query + sql.SQL(" LIMIT %s OFFSET %s"), (*where.params, limit, offset))
    return [cron_from_row(r) for r in rows]


async def claim_due_crons(
    tx: Tx, now: datetime, next_run: Callable[[Cron], datetime | None]
) -> list[Cron]:
    """Advance every due cron and return them as they were; rows another caller holds are
    skipped, and once it commits they are no longer due."""
    rows = await _query(
        tx,
        "SELECT * FROM crons WHERE enabled AND next_run_date <= %s"
        " ORDER BY next_run_date, cron_id FOR UPDATE SKIP LOCKED",
        (now,),
    )
    due = [cron_from_row(r) for r in rows]
    for cron in due:
        following = next_run(cron)
        await tx.conn.execute(
            "UPDATE crons SET next_run_date = %s, enabled = %s, updated_at = now()"
            " WHERE cron_id = %s",
            (following, following is not None, cron.cron_id),
        )
    return due
