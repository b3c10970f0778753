"""Assistants on PostgreSQL: the current version in `assistants`, every version in `assistant_versions`."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._requests import AssistantChanges, NewAssistant, Page
from agent_ops.storage.channels import ASSISTANT_CHANGED
from agent_ops.storage.postgres.rows import (
    COLUMNS,
    Tx,
    Where,
    insert_new,
    jsonb,
    no_transaction,
    one,
)
from agent_ops.storage.records import Assistant

_INSERT = (
    "INSERT INTO assistants (assistant_id, tenant_id, owner, graph_id, name, description,"
    " config, context, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (assistant_id) DO NOTHING RETURNING *"
)
_COPY_VERSION = (
    "INSERT INTO assistant_versions (assistant_id, version, tenant_id, owner, graph_id, name,"
    " description, config, context, metadata, created_at) SELECT assistant_id, version,"
    " tenant_id, owner, graph_id, name, description, config, context, metadata, updated_at"
    " FROM assistants WHERE assistant_id = %s"
)


async def create_assistant(tx: Tx, new: NewAssistant, if_exists: str) -> Assistant:
    params = new.params(jsonb)
    row = await insert_new(tx, _INSERT, params, if_exists, "assistant", new.assistant_id)
    if row is None:
        return await get_assistant(tx, new.assistant_id)
    await tx.conn.execute(_COPY_VERSION, (new.assistant_id,))
    return rec.assistant(row, COLUMNS)


@no_transaction
async def get_assistant(tx: Tx, assistant_id: str, *, lock: bool = False) -> Assistant:
    found = await tx.conn.execute(
        "SELECT * FROM assistants WHERE assistant_id = %s" + (" FOR UPDATE" if lock else ""),
        (assistant_id,),
    )
    return rec.assistant(await one(found, _policy.missing("assistant", assistant_id)), COLUMNS)


async def update_assistant(tx: Tx, assistant_id: str, changes: AssistantChanges) -> Assistant:
    tx.notify(ASSISTANT_CHANGED, assistant_id)  # other processes drop their copy
    current = await get_assistant(tx, assistant_id, lock=True)
    cur = await tx.conn.execute(
        "UPDATE assistants SET graph_id = %s, name = %s, description = %s, config = %s,"
        " context = %s, metadata = %s, updated_at = now(), version = 1 + (SELECT max(version)"
        " FROM assistant_versions WHERE assistant_id = %s) WHERE assistant_id = %s RETURNING *",
        (*changes.applied_to(current, jsonb), assistant_id, assistant_id),
    )
    row = await one(cur, _policy.missing("assistant", assistant_id))
    await tx.conn.execute(_COPY_VERSION, (assistant_id,))
    return rec.assistant(row, COLUMNS)


async def delete_assistant(tx: Tx, assistant_id: str) -> None:
    tx.notify(ASSISTANT_CHANGED, assistant_id)  # other processes drop their copy
    gone = await tx.conn.execute(
        "DELETE FROM assistants WHERE assistant_id = %s RETURNING assistant_id", (assistant_id,)
    )
    await one(gone, _policy.missing("assistant", assistant_id))


async def list_assistant_versions(
    tx: Tx, assistant_id: str, where: Where, page: Page
) -> list[Assistant]:
    await get_assistant(tx, assistant_id)
    cur = await tx.conn.execute(
        f"SELECT * FROM assistant_versions{where.sql()} ORDER BY version DESC LIMIT %s OFFSET %s",
        (*where.params, page.limit, page.offset),
    )
    return [rec.assistant_version(r, COLUMNS) for r in await cur.fetchall()]


async def set_assistant_version(tx: Tx, assistant_id: str, version: int) -> Assistant:
    tx.notify(ASSISTANT_CHANGED, assistant_id)  # other processes drop their copy
    await get_assistant(tx, assistant_id, lock=True)
    found = await tx.conn.execute(
        "UPDATE assistants AS a SET graph_id = v.graph_id, name = v.name,"
        " description = v.description, config = v.config, context = v.context,"
        " metadata = v.metadata, version = v.version, updated_at = now()"
        " FROM assistant_versions AS v WHERE a.assistant_id = %s"
        " AND v.assistant_id = a.assistant_id AND v.version = %s RETURNING a.*",
        (assistant_id, version),
    )
    return rec.assistant(await one(found, _policy.no_version(assistant_id, version)), COLUMNS)
