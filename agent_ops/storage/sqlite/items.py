"""The long-term memory store on SQLite: items keyed by a joined namespace and a key.

Expired items stay in the table until overwritten or deleted but are invisible to every read.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._requests import Namespaces
from agent_ops.storage.records import StoreItem
from agent_ops.storage.sqlite.rows import COLUMNS, NS_SEP, Tx, Where, dumps
from agent_ops.types import Json

_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def put_item(
    tx: Tx,
    namespace: Sequence[str],
    key: str,
    value: Json,
    ttl: float | None,
    vectors: bytes | None,
    tenant_id: str,
    owner: str,
) -> None:
    expires = None if ttl is None else tx.now + ttl
    tx.conn.execute(
        "INSERT INTO store_items (tenant_id, owner, namespace, key, value, created_at,"
        " updated_at, expires_at, ttl_seconds, vectors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at, expires_at = excluded.expires_at,"
        " ttl_seconds = excluded.ttl_seconds, vectors = excluded.vectors",
        (
            tenant_id,
            owner,
            _ns(namespace),
            key,
            dumps(value),
            tx.now,
            tx.now,
            expires,
            ttl,
            vectors,
        ),
    )


def get_item(
    tx: Tx, namespace: Sequence[str], key: str, refresh_ttl: bool, tenant_id: str
) -> StoreItem | None:
    c, ns = tx.conn, _ns(namespace)
    row = c.execute(
        f"SELECT * FROM store_items WHERE tenant_id = ? AND namespace = ? AND key = ? AND {_LIVE}",
        (tenant_id, ns, key, tx.now),
    ).fetchone()
    if row is None:
        return None
    if refresh_ttl and row["ttl_seconds"] is not None:
        row = c.execute(
            "UPDATE store_items SET expires_at = ? WHERE tenant_id = ? AND namespace = ?"
            " AND key = ? RETURNING *",
            (tx.now + row["ttl_seconds"], tenant_id, ns, key),
        ).fetchone()
    return rec.item(row, COLUMNS)


def delete_item(tx: Tx, namespace: Sequence[str], key: str, tenant_id: str) -> None:
    tx.conn.execute(
        "DELETE FROM store_items WHERE tenant_id = ? AND namespace = ? AND key = ?",
        (tenant_id, _ns(namespace), key),
    )


def search_items(
    tx: Tx, prefix: Sequence[str], filter: Json | None, limit: int, offset: int, tenant_id: str
) -> list[StoreItem]:
    where = _item_filter(tx, prefix, filter, tenant_id)
    rows = tx.conn.execute(
        f"SELECT * FROM store_items{where.sql()} ORDER BY updated_at DESC, namespace, key"
        " LIMIT ? OFFSET ?",
        (*where.params, limit, offset),
    )
    return [rec.item(r, COLUMNS) for r in rows]


def search_vectors(
    tx: Tx, prefix: Sequence[str], filter: Json | None, tenant_id: str
) -> list[tuple[StoreItem, bytes]]:
    where = _item_filter(tx, prefix, filter, tenant_id)
    where.add("vectors IS NOT NULL")
    rows = tx.conn.execute(f"SELECT * FROM store_items{where.sql()}", where.params)
    return [(rec.item(r, COLUMNS), bytes(r["vectors"])) for r in rows]


def list_namespaces(tx: Tx, query: Namespaces) -> list[tuple[str, ...]]:
    prefix, suffix, max_depth = query.prefix, query.suffix, query.max_depth
    found: set[tuple[str, ...]] = set()
    for (text,) in tx.conn.execute(
        f"SELECT DISTINCT namespace FROM store_items WHERE tenant_id = ? AND {_LIVE}",
        (query.tenant_id, tx.now),
    ):
        ns = COLUMNS.namespace(text)
        if prefix and ns[: len(prefix)] != tuple(prefix):
            continue
        if suffix and ns[-len(suffix) :] != tuple(suffix):
            continue
        found.add(ns[:max_depth] if max_depth is not None else ns)
    return sorted(found)[query.offset : query.offset + query.limit]


def _ns(namespace: Sequence[str]) -> str:
    return NS_SEP.join(_policy.labels(namespace))


def _item_filter(tx: Tx, prefix: Sequence[str], filter: Json | None, tenant_id: str) -> Where:
    where = Where()
    where.add("tenant_id = ?", tenant_id)
    where.add(_LIVE, tx.now)
    if prefix:
        joined = NS_SEP.join(prefix)
        where.add(
            "(namespace = ? OR substr(namespace, 1, ?) = ?)",
            joined,
            len(joined) + 1,
            joined + NS_SEP,
        )
    where.contains("value", filter)
    return where
