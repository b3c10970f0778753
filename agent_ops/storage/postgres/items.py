"""The long-term memory store on PostgreSQL: items keyed by a `text[]` namespace and a key.

Expired items stay in the table until overwritten or deleted but are invisible to every read.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._requests import Namespaces
from agent_ops.storage.postgres.rows import COLUMNS, Tx, Where, jsonb
from agent_ops.storage.records import StoreItem
from agent_ops.types import Json

_LIVE = "(expires_at IS NULL OR expires_at > now())"


async def put_item(
    tx: Tx,
    namespace: Sequence[str],
    key: str,
    value: Json,
    ttl_seconds: float | None,
    vectors: bytes | None,
    tenant_id: str,
    owner: str,
) -> None:
    await tx.conn.execute(
        """
        INSERT INTO store_items (tenant_id, owner, namespace, key, value, expires_at, ttl_seconds,
                                 vectors)
        VALUES (%(tenant)s, %(owner)s, %(ns)s, %(key)s, %(value)s,
                now() + make_interval(secs => %(ttl)s), %(ttl)s, %(vectors)s)
        ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET
          value = excluded.value, updated_at = now(), expires_at = excluded.expires_at,
          ttl_seconds = excluded.ttl_seconds, vectors = excluded.vectors,
          created_at = CASE WHEN store_items.expires_at <= now() THEN now()
                            ELSE store_items.created_at END
        """,
        {
            "tenant": tenant_id,
            "owner": owner,
            "ns": _policy.labels(namespace),
            "key": key,
            "value": jsonb(value),
            "ttl": ttl_seconds,
            "vectors": vectors,
        },
    )


async def get_item(
    tx: Tx, namespace: Sequence[str], key: str, refresh_ttl: bool, tenant_id: str
) -> StoreItem | None:
    params = (tenant_id, _policy.labels(namespace), key)
    if refresh_ttl:
        cur = await tx.conn.execute(
            "UPDATE store_items SET expires_at = now() + make_interval(secs => ttl_seconds)"
            f" WHERE tenant_id = %s AND namespace = %s AND key = %s AND {_LIVE}"
            " AND ttl_seconds IS NOT NULL RETURNING *",
            params,
        )
        row = await cur.fetchone()
        if row is not None:
            return rec.item(row, COLUMNS)
    cur = await tx.conn.execute(
        f"SELECT * FROM store_items WHERE tenant_id = %s AND namespace = %s AND key = %s"
        f" AND {_LIVE}",
        params,
    )
    row = await cur.fetchone()
    return None if row is None else rec.item(row, COLUMNS)


async def delete_item(tx: Tx, namespace: Sequence[str], key: str, tenant_id: str) -> None:
    await tx.conn.execute(
        "DELETE FROM store_items WHERE tenant_id = %s AND namespace = %s AND key = %s",
        (tenant_id, _policy.labels(namespace), key),
    )


async def search_items(
    tx: Tx, prefix: Sequence[str], filter: Json | None, limit: int, offset: int, tenant_id: str
) -> list[StoreItem]:
    where = _item_filter(prefix, filter, tenant_id)
    cur = await tx.conn.execute(
        f"SELECT * FROM store_items{where.sql()} ORDER BY updated_at DESC, namespace, key"
        " LIMIT %s OFFSET %s",
        (*where.params, limit, offset),
    )
    return [rec.item(r, COLUMNS) for r in await cur.fetchall()]


async def search_vectors(
    tx: Tx, prefix: Sequence[str], filter: Json | None, tenant_id: str
) -> list[tuple[StoreItem, bytes]]:
    where = _item_filter(prefix, filter, tenant_id)
    where.add("vectors IS NOT NULL")
    cur = await tx.conn.execute(f"SELECT * FROM store_items{where.sql()}", where.params)
    return [(rec.item(r, COLUMNS), bytes(r["vectors"])) for r in await cur.fetchall()]


async def list_namespaces(tx: Tx, query: Namespaces) -> list[tuple[str, ...]]:
    prefix, suffix, max_depth = query.prefix, query.suffix, query.max_depth
    where = Where()
    where.add("tenant_id = %s", query.tenant_id)
    where.add(_LIVE)
    if prefix:
        where.add("namespace[1:%s] = %s", len(prefix), list(prefix))
    if suffix:
        where.add(
            "cardinality(namespace) >= %s"
            " AND namespace[cardinality(namespace) - %s + 1:cardinality(namespace)] = %s",
            len(suffix),
            len(suffix),
            list(suffix),
        )
    depth = "namespace" if max_depth is None else "namespace[1:%s]"
    params = [] if max_depth is None else [max_depth]
    cur = await tx.conn.execute(
        f"SELECT DISTINCT {depth} AS ns FROM store_items{where.sql()}"
        " ORDER BY ns LIMIT %s OFFSET %s",
        (*params, *where.params, query.limit, query.offset),
    )
    return [tuple(r["ns"]) for r in await cur.fetchall()]


def _item_filter(prefix: Sequence[str], filter: Json | None, tenant_id: str) -> Where:
    where = Where()
    where.add("tenant_id = %s", tenant_id)
    where.add(_LIVE)
    if prefix:
        where.add("namespace[1:%s] = %s", len(prefix), list(prefix))
    for name, wanted in (filter or {}).items():
        where.add("value -> %s = %s", name, jsonb(wanted))
    return where
