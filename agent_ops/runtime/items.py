"""Store items as the API serves them: put, get, delete, search and namespace listing.

The namespace rules live here (labels non-empty, no dots, since the API joins them with dots);
the storing itself, with embeddings for semantic search, is the graphs' `ServerStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace

from langgraph.store.base import SearchOp

from agent_ops.errors import InvalidInput
from agent_ops.governance import authz, tenant_of_caller
from agent_ops.runtime.store import ServerStore
from agent_ops.storage import Namespaces, StoreItem
from agent_ops.types import Json
from agent_ops.values import DEFAULT_LIMITS, Limits


def check_namespace(namespace: Sequence[str]) -> None:
    """Raise InvalidInput naming the label unless every label is non-empty and dot-free."""
    if not namespace:
        raise InvalidInput("namespace must name at least one label")
    for label in namespace:
        if not label or "." in label:
            raise InvalidInput(f"namespace label {label!r} must be non-empty and have no '.'")


class Items:
    """The key-value store of one process, as the API reaches it."""

    def __init__(self, store: ServerStore, *, limits: Limits = DEFAULT_LIMITS) -> None:
        # The store holds the storage its reads and deletes go to, so the two cannot differ.
        self._store = store
        self._limits = limits

    async def delete(self, namespace: Sequence[str], key: str) -> None:
        """Delete the caller's tenant's item (nothing if there is none)."""
        namespace = await authz.store_namespace("delete", namespace, key=key)  # governance
        await self._store.storage.delete_item(namespace, key, tenant_id=tenant_of_caller())

    async def namespaces(self, query: Namespaces) -> list[tuple[str, ...]]:
        """The caller's tenant's namespaces that `query` asks for."""
        # An app's store handler reads the query's fields (the namespace apart) by name.
        asked = {f.name: getattr(query, f.name) for f in fields(query)}
        del asked["prefix"], asked["tenant_id"]
        prefix = await authz.store_namespace("list_namespaces", query.prefix, **asked)
        query = replace(query, prefix=prefix or query.prefix, tenant_id=tenant_of_caller())
        return await self._store.storage.list_namespaces(query)

    async def put(
        self,
        namespace: Sequence[str],
        key: str,
        value: Json,
        *,
        index: list[str] | bool | None = None,
        ttl_minutes: float | None = None,
    ) -> None:
        """Insert or replace an item, embedding it unless `index` is False or none is set up."""
        namespace = await authz.store_namespace(  # governance: a handler's namespace
            "put", namespace, key=key, value=value, index=index
        )
        check_namespace(namespace)
        self._limits.store_value(value)
        await self._store.put_value(
            tuple(namespace),
            key,
            value,
            index,
            ttl_seconds=None if ttl_minutes is None else ttl_minutes * 60,
        )

    async def get(self, namespace: str, key: str, *, refresh_ttl: bool = True) -> StoreItem | None:
        """Return the item under a dotted namespace, or None: the LangGraph server answers a
        missing item with null, and the sdk's `get_item` hands its caller None."""
        labels = await authz.store_namespace("get", namespace.split("."), key=key)  # governance
        return await self._store.storage.get_item(
            labels, key, refresh_ttl=refresh_ttl, tenant_id=tenant_of_caller()
        )

    async def search(self, search: SearchOp) -> list[tuple[StoreItem, float | None]]:
        """Return items under the search's prefix, best match first when a `query` is given."""
        asked = search._asdict()  # governance: as for namespaces; a search refreshes no TTL
        del asked["namespace_prefix"], asked["refresh_ttl"]
        prefix = await authz.store_namespace("search", search.namespace_prefix, **asked)
        if search.query and self._store.index is None:
            raise InvalidInput(
                "query: semantic search is not configured (langgraph.json store.index); use filter"
            )
        return await self._store.find(search._replace(namespace_prefix=tuple(prefix)))
