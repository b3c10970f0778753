"""Assistants on SQLite: the current version in `assistants`, every version in `assistant_versions`."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._requests import AssistantChanges, NewAssistant, Page
from agent_ops.storage.records import Assistant
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, Where, dumps
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json

_SET_VERSION = (
    "UPDATE assistants SET graph_id = ?, name = ?, description = ?, config = ?, context = ?,"
    " metadata = ?, version = ?, updated_at = ? WHERE assistant_id = ? RETURNING *"
)


def create_assistant(tx: Tx, new: NewAssistant, if_exists: str) -> Assistant:
    c = tx.conn
    row = c.execute(
        "SELECT * FROM assistants WHERE assistant_id = ?", (new.assistant_id,)
    ).fetchone()
    if row is not None:
        if if_exists == "do_nothing":
            return rec.assistant(row, COLUMNS)
        raise _policy.exists("assistant", new.assistant_id)
    values = (
        new.assistant_id,
        DEFAULT_TENANT,
        DEFAULT_OWNER,
        new.graph_id,
        new.name,
        new.description,
        dumps(new.config),
        dumps(new.context),
        dumps(new.metadata),
    )
    row = c.execute(
        "INSERT INTO assistants (assistant_id, tenant_id, owner, graph_id, name,"
        " description, config, context, metadata, version, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING *",
        (*values, tx.now, tx.now),
    ).fetchone()
    c.execute(
        "INSERT INTO assistant_versions (assistant_id, tenant_id, owner, graph_id, name,"
        " description, config, context, metadata, version, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        (*values, tx.now),
    )
    return rec.assistant(row, COLUMNS)


def get_assistant(tx: Tx, assistant_id: str) -> Assistant:
    row = tx.conn.execute(
        "SELECT * FROM assistants WHERE assistant_id = ?", (assistant_id,)
    ).fetchone()
    if row is None:
        raise _policy.missing("assistant", assistant_id)
    return rec.assistant(row, COLUMNS)


def update_assistant(tx: Tx, assistant_id: str, changes: AssistantChanges) -> Assistant:
    current = get_assistant(tx, assistant_id)
    c = tx.conn
    (latest,) = c.execute(
        "SELECT MAX(version) FROM assistant_versions WHERE assistant_id = ?", (assistant_id,)
    ).fetchone()
    values = (
        changes.graph_id or current.graph_id,
        changes.name or current.name,
        changes.description if changes.description is not None else current.description,
        dumps(changes.config if changes.config is not None else current.config),
        dumps(changes.context if changes.context is not None else current.context),
        dumps({**current.metadata, **(changes.metadata or {})}),
    )
    c.execute(
        "INSERT INTO assistant_versions (assistant_id, tenant_id, owner, graph_id, name,"
        " description, config, context, metadata, version, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (assistant_id, current.tenant_id, current.owner, *values, latest + 1, tx.now),
    )
    row = c.execute(_SET_VERSION, (*values, latest + 1, tx.now, assistant_id)).fetchone()
    return rec.assistant(row, COLUMNS)


def delete_assistant(tx: Tx, assistant_id: str) -> None:
    gone = tx.conn.execute("DELETE FROM assistants WHERE assistant_id = ?", (assistant_id,))
    if gone.rowcount == 0:
        raise _policy.missing("assistant", assistant_id)


def list_assistant_versions(
    tx: Tx, assistant_id: str, metadata: Json | None, page: Page
) -> list[Assistant]:
    get_assistant(tx, assistant_id)
    where = Where().equals("assistant_id", assistant_id).contains("metadata", metadata)
    rows = tx.conn.execute(
        f"SELECT * FROM assistant_versions{where.sql()} ORDER BY version DESC LIMIT ? OFFSET ?",
        (*where.params, page.limit, page.offset),
    )
    return [rec.assistant_version(r, COLUMNS) for r in rows]


def set_assistant_version(tx: Tx, assistant_id: str, version: int) -> Assistant:
    get_assistant(tx, assistant_id)
    c = tx.conn
    row = c.execute(
        "SELECT * FROM assistant_versions WHERE assistant_id = ? AND version = ?",
        (assistant_id, version),
    ).fetchone()
    if row is None:
        raise _policy.no_version(assistant_id, version)
    updated = c.execute(
        _SET_VERSION,
        (
            row["graph_id"],
            row["name"],
            row["description"],
            row["config"],
            row["context"],
            row["metadata"],
            version,
            tx.now,
            assistant_id,
        ),
    ).fetchone()
    return rec.assistant(updated, COLUMNS)
