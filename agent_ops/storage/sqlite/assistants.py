"""Assistants on SQLite: the current version in `assistants`, every version in `assistant_versions`."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._requests import AssistantChanges, NewAssistant, Page
from agent_ops.storage.channels import ASSISTANT_CHANGED
from agent_ops.storage.records import Assistant
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, Where, dumps, insert_new, one

_INSERT = (
    "INSERT INTO assistants (assistant_id, tenant_id, owner, graph_id, name, description,"
    " config, context, metadata, version, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (assistant_id) DO NOTHING RETURNING *"
)
_COPY_VERSION = (
    "INSERT INTO assistant_versions (assistant_id, version, tenant_id, owner, graph_id, name,"
    " description, config, context, metadata, created_at) SELECT assistant_id, version,"
    " tenant_id, owner, graph_id, name, description, config, context, metadata, updated_at"
    " FROM assistants WHERE assistant_id = ?"
)


def create_assistant(tx: Tx, new: NewAssistant, if_exists: str) -> Assistant:
    params = (*new.params(dumps), tx.now, tx.now)
    row = insert_new(tx, _INSERT, params, if_exists, "assistant", new.assistant_id)
    if row is None:
        return get_assistant(tx, new.assistant_id)
    tx.conn.execute(_COPY_VERSION, (new.assistant_id,))
    return rec.assistant(row, COLUMNS)


def get_assistant(tx: Tx, assistant_id: str) -> Assistant:
    found = tx.conn.execute("SELECT * FROM assistants WHERE assistant_id = ?", (assistant_id,))
    return rec.assistant(one(found, _policy.missing("assistant", assistant_id)), COLUMNS)


def update_assistant(tx: Tx, assistant_id: str, changes: AssistantChanges) -> Assistant:
    tx.notify(ASSISTANT_CHANGED, assistant_id)  # other processes drop their copy
    current = get_assistant(tx, assistant_id)
    row = tx.conn.execute(
        "UPDATE assistants SET graph_id = ?, name = ?, description = ?, config = ?, context = ?,"
        " metadata = ?, updated_at = ?, version = 1 + (SELECT MAX(version)"
        " FROM assistant_versions WHERE assistant_id = ?) WHERE assistant_id = ? RETURNING *",
        (*changes.applied_to(current, dumps), tx.now, assistant_id, assistant_id),
    ).fetchone()
    tx.conn.execute(_COPY_VERSION, (assistant_id,))
    return rec.assistant(row, COLUMNS)


def delete_assistant(tx: Tx, assistant_id: str) -> None:
    tx.notify(ASSISTANT_CHANGED, assistant_id)  # other processes drop their copy
    gone = tx.conn.execute("DELETE FROM assistants WHERE assistant_id = ?", (assistant_id,))
    if gone.rowcount == 0:
        raise _policy.missing("assistant", assistant_id)


def list_assistant_versions(tx: Tx, assistant_id: str, where: Where, page: Page) -> list[Assistant]:
    get_assistant(tx, assistant_id)
    rows = tx.conn.execute(
        f"SELECT * FROM assistant_versions{where.sql()} ORDER BY version DESC LIMIT ? OFFSET ?",
        (*where.params, page.limit, page.offset),
    )
    return [rec.assistant_version(r, COLUMNS) for r in rows]


def set_assistant_version(tx: Tx, assistant_id: str, version: int) -> Assistant:
    tx.notify(ASSISTANT_CHANGED, assistant_id)  # other processes drop their copy
    get_assistant(tx, assistant_id)
    found = tx.conn.execute(
        "UPDATE assistants AS a SET graph_id = v.graph_id, name = v.name,"
        " description = v.description, config = v.config, context = v.context,"
        " metadata = v.metadata, version = v.version, updated_at = ?"
        " FROM assistant_versions AS v WHERE a.assistant_id = ?"
        " AND v.assistant_id = a.assistant_id AND v.version = ? RETURNING *",
        (tx.now, assistant_id, version),
    )
    return rec.assistant(one(found, _policy.no_version(assistant_id, version)), COLUMNS)
