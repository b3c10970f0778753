"""Store items (long-term memory) in storage: the `Storage` part written once above both
backends (each method one transaction of the backend's `items` module function of that name),
and the matching of filters in Python against values sealed at rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from agent_ops.storage._base import Base
from agent_ops.storage._requests import ALL_NAMESPACES, Namespaces
from agent_ops.storage.encryption import is_sealed
from agent_ops.storage.records import StoreItem
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json

__all__ = ["Items"]

_SCAN = 500
"""Items read per page when a filter is matched in Python (on sealed values)."""


def _matches(value: Json, wanted: Json | None) -> bool:
    """True if `value` holds each of `wanted`'s top-level keys with an equal JSON value, as the
    backends' SQL compares them (a bool is never equal to a number)."""
    if not wanted:
        return True
    if not isinstance(value, dict):
        return False
    return all(name in value and _same(value[name], expected) for name, expected in wanted.items())


def _same(a: Json, b: Json) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


class Items(Base):
    """The long-term memory store: JSON items by namespace and key, with TTLs and vectors."""

    async def put_item(
        self,
        namespace: Sequence[str],
        key: str,
        value: Json,
        *,
        ttl_seconds: float | None = None,
        vectors: bytes | None = None,
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> None:
        """Insert or replace an item; `vectors` (its field embeddings) replace the stored ones,
        None leaves the item out of semantic search. Every item method reads and writes one
        tenant's items (`tenant_id`); tenants may use the same namespaces and keys."""
        await self._tx(
            self._sql.items.put_item,
            namespace,
            key,
            self._keyring.seal_value(value),
            ttl_seconds,
            vectors,
            tenant_id,
            owner,
        )

    async def get_item(
        self,
        namespace: Sequence[str],
        key: str,
        *,
        refresh_ttl: bool = True,
        tenant_id: str = DEFAULT_TENANT,
    ) -> StoreItem | None:
        found: StoreItem | None = await self._tx(
            self._sql.items.get_item, namespace, key, refresh_ttl, tenant_id
        )
        return None if found is None else self._opened(found)

    async def delete_item(
        self, namespace: Sequence[str], key: str, *, tenant_id: str = DEFAULT_TENANT
    ) -> None:
        await self._tx(self._sql.items.delete_item, namespace, key, tenant_id)

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        limit: int = 10,
        offset: int = 0,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[StoreItem]:
        """Items under the prefix whose value contains `filter`'s top-level key/values."""
        if not filter or not self._keyring:
            found: list[StoreItem] = await self._tx(
                self._sql.items.search_items, namespace_prefix, filter, limit, offset, tenant_id
            )
            return [self._opened(item) for item in found]
        # Sealed values cannot be compared in SQL: read the prefix's items newest first, page by
        # page, and keep those whose opened value matches until the page asked for is full.
        matched: list[StoreItem] = []
        seen = 0
        while len(matched) < offset + limit:
            page: list[StoreItem] = await self._tx(
                self._sql.items.search_items, namespace_prefix, None, _SCAN, seen, tenant_id
            )
            matched += [i for i in map(self._opened, page) if _matches(i.value, filter)]
            seen += len(page)
            if len(page) < _SCAN:
                break
        return matched[offset : offset + limit]

    async def search_vectors(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[tuple[StoreItem, bytes]]:
        """Every live item under the prefix that matches `filter` and has vectors, with them."""
        sealed = bool(self._keyring)  # sealed values are matched after opening, not in SQL
        found: list[tuple[StoreItem, bytes]] = await self._tx(
            self._sql.items.search_vectors, namespace_prefix, None if sealed else filter, tenant_id
        )
        opened = [(self._opened(item), vectors) for item, vectors in found]
        return [pair for pair in opened if not sealed or _matches(pair[0].value, filter)]

    def _opened(self, item: StoreItem) -> StoreItem:
        if not is_sealed(item.value):
            return item
        return replace(item, value=self._keyring.open_value(item.value))

    async def list_namespaces(self, query: Namespaces = ALL_NAMESPACES) -> list[tuple[str, ...]]:
        return await self._tx(self._sql.items.list_namespaces, query)
