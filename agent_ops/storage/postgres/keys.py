"""API keys on PostgreSQL: their HMACs, tenants, roles, expiry and revocation."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage.postgres.rows import COLUMNS, Tx
from agent_ops.storage.records import ApiKey


async def create_api_key(tx: Tx, key: ApiKey) -> ApiKey:
    cur = await tx.conn.execute(
        "INSERT INTO api_keys (key_id, name, tenant_id, role, digest, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (key.key_id, key.name, key.tenant_id, key.role, key.digest, key.expires_at),
    )
    row = await cur.fetchone()
    assert row is not None  # INSERT ... RETURNING yields the row or raises
    return rec.api_key(row, COLUMNS)


async def get_api_key(tx: Tx, key_id: str) -> ApiKey | None:
    cur = await tx.conn.execute("SELECT * FROM api_keys WHERE key_id = %s", (key_id,))
    row = await cur.fetchone()
    return None if row is None else rec.api_key(row, COLUMNS)


async def list_api_keys(tx: Tx) -> list[ApiKey]:
    cur = await tx.conn.execute("SELECT * FROM api_keys ORDER BY created_at, key_id")
    return [rec.api_key(r, COLUMNS) for r in await cur.fetchall()]


async def revoke_api_key(tx: Tx, key_id: str) -> ApiKey:
    cur = await tx.conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s"
        " RETURNING *",
        (key_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise _policy.key_missing(key_id)
    return rec.api_key(row, COLUMNS)
