"""The key-value store: items under namespaces, with search, namespace listing and TTLs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from agent_ops.errors import InvalidInput, NotFound
from server.deps import RuntimeDep
from server.schemas import StoreDelete, StoreNamespaces, StorePut, StoreSearch
from server.views import item_view

router = APIRouter(tags=["store"])


def _check_namespace(namespace: list[str]) -> None:
    if not namespace:
        raise InvalidInput("namespace must name at least one label")
    for label in namespace:
        if not label or "." in label:
            raise InvalidInput(f"namespace label {label!r} must be non-empty and have no '.'")


@router.put("/store/items", status_code=204)
async def put_item(body: StorePut, runtime: RuntimeDep) -> Response:
    _check_namespace(body.namespace)
    await runtime.store.put_value(
        tuple(body.namespace),
        body.key,
        body.value,
        body.index,
        ttl_seconds=None if body.ttl is None else body.ttl * 60,
    )
    return Response(status_code=204)


@router.get("/store/items")
async def get_item(
    runtime: RuntimeDep,
    namespace: Annotated[str, Query()],
    key: Annotated[str, Query()],
    refresh_ttl: bool = True,
) -> dict[str, Any]:
    labels = namespace.split(".")
    item = await runtime.storage.get_item(labels, key, refresh_ttl=refresh_ttl)
    if item is None:
        raise NotFound(f"store item {key!r} not found in namespace {namespace!r}")
    return item_view(item)


@router.delete("/store/items", status_code=204)
async def delete_item(body: StoreDelete, runtime: RuntimeDep) -> Response:
    await runtime.storage.delete_item(body.namespace, body.key)
    return Response(status_code=204)


@router.post("/store/items/search")
async def search_items(body: StoreSearch, runtime: RuntimeDep) -> dict[str, Any]:
    if body.query and runtime.store.index is None:
        raise InvalidInput(
            "query: semantic search is not configured (langgraph.json store.index); use filter"
        )
    found = await runtime.store.find(
        tuple(body.namespace_prefix),
        query=body.query,
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
    )
    return {"items": [item_view(item, score) for item, score in found]}


@router.post("/store/namespaces")
async def list_namespaces(body: StoreNamespaces, runtime: RuntimeDep) -> dict[str, Any]:
    found = await runtime.storage.list_namespaces(
        prefix=body.prefix,
        suffix=body.suffix,
        max_depth=body.max_depth,
        limit=body.limit,
        offset=body.offset,
    )
    return {"namespaces": [list(ns) for ns in found]}
