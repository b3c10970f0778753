"""API keys on SQLite: their HMACs, tenants, roles, expiry and revocation."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage.records import ApiKey
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, epoch


def create_api_key(tx: Tx, key: ApiKey) -> ApiKey:
    row = tx.conn.execute(
        "INSERT INTO api_keys (key_id, name, tenant_id, role, digest, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            key.key_id,
            key.name,
            key.tenant_id,
            key.role,
            key.digest,
            tx.now,
            epoch(key.expires_at),
        ),
    ).fetchone()
    return rec.api_key(row, COLUMNS)


def get_api_key(tx: Tx, key_id: str) -> ApiKey | None:
    row = tx.conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    return None if row is None else rec.api_key(row, COLUMNS)


def list_api_keys(tx: Tx) -> list[ApiKey]:
    rows = tx.conn.execute("SELECT * FROM api_keys ORDER BY created_at, key_id")
    return [rec.api_key(r, COLUMNS) for r in rows]


def revoke_api_key(tx: Tx, key_id: str) -> ApiKey:
    row = tx.conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE key_id = ? RETURNING *",
        (tx.now, key_id),
    ).fetchone()
    if row is None:
        raise _policy.key_missing(key_id)
    return rec.api_key(row, COLUMNS)
