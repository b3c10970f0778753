"""Store items (long-term memory) in storage: the `Storage` part written once above both
backends (each method one transaction of the backend's `items` module function of that name),
and the matching of filters in Python: against values sealed at rest, and for filters with
comparison operators (`{"n": {"$gt": 1}}`), which the SQL does not compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TypeGuard

from agent_ops.errors import InvalidInput
from agent_ops.storage._base import Base
from agent_ops.storage._requests import ALL_NAMESPACES, Namespaces
from agent_ops.storage.encryption import is_sealed
from agent_ops.storage.records import StoreItem
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json

__all__ = ["Items"]

_SCAN = 500
"""Items read per page when a filter is matched in Python (sealed values, operators)."""

_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
"""The comparison operators of LangGraph's store filters."""


def _matches(value: Json, wanted: Json | None) -> bool:
    """True if `value` holds each of `wanted`'s top-level keys with an equal JSON value, as the
    backends' SQL compares them (a bool is never equal to a number), or, for a key given as
    operators (`{"$gte": 2, "$lt": 5}`), with a value that passes every one of them."""
    if not wanted:
        return True
    if not isinstance(value, dict):
        return False
    return all(
        all(_passes(value, name, op, arg) for op, arg in expected.items())
        if _is_operators(expected)
        else name in value and _same(value[name], expected)
        for name, expected in wanted.items()
    )


def _is_operators(expected: Json) -> bool:
    return isinstance(expected, dict) and any(str(k).startswith("$") for k in expected)


def _with_operators(filter: Json | None) -> bool:
    """True if `filter` compares some key with operators (checked: each one is known)."""
    found = False
    for name, expected in (filter or {}).items():
        if _is_operators(expected):
            found = True
            for op in expected:
                if op not in _OPERATORS:
                    raise InvalidInput(
                        f"filter on {name!r}: unknown operator {op!r}; "
                        f"known: {', '.join(_OPERATORS)}"
                    )
    return found


def _passes(value: Json, name: str, op: str, arg: Json) -> bool:
    """True if `value[name]` passes `op` against `arg`: `$eq`/`$ne` compare as equality does,
    the others compare numbers (a missing key or a non-number passes none of them)."""
    present = name in value
    if op == "$eq":
        return present and _same(value[name], arg)
    if op == "$ne":
        return not (present and _same(value[name], arg))
    actual = value.get(name)
    if not (_is_number(actual) and _is_number(arg)):
        return False
    if op == "$gt":
        return bool(actual > arg)
    if op == "$gte":
        return bool(actual >= arg)
    if op == "$lt":
        return bool(actual < arg)
    return bool(actual <= arg)  # $lte, the one left after _with_operators' check


def _is_number(x: object) -> TypeGuard[int | float]:
    return isinstance(x, int | float) and not isinstance(x, bool)


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
        if not filter or not (_with_operators(filter) or self._keyring):
            found: list[StoreItem] = await self._tx(
                self._sql.items.search_items, namespace_prefix, filter, limit, offset, tenant_id
            )
            return [self._opened(item) for item in found]
        # Sealed values and operators are not compared in SQL: read the prefix's items newest
        # first, page by page, and keep those whose opened value matches until the page is full.
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
        # sealed values and operators are matched after opening, not in SQL
        in_python = _with_operators(filter) or bool(self._keyring)
        found: list[tuple[StoreItem, bytes]] = await self._tx(
            self._sql.items.search_vectors,
            namespace_prefix,
            None if in_python else filter,
            tenant_id,
        )
        opened = [(self._opened(item), vectors) for item, vectors in found]
        return [pair for pair in opened if not in_python or _matches(pair[0].value, filter)]

    def _opened(self, item: StoreItem) -> StoreItem:
        if not is_sealed(item.value):
            return item
        return replace(item, value=self._keyring.open_value(item.value))

    async def list_namespaces(self, query: Namespaces = ALL_NAMESPACES) -> list[tuple[str, ...]]:
        return await self._tx(self._sql.items.list_namespaces, query)
