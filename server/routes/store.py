"""The key-value store: items under namespaces, with search, namespace listing and TTLs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from server.deps import RuntimeDep
from server.schemas import StoreDelete, StoreNamespaces, StorePut, StoreSearch
from server.views import item_view

router = APIRouter(tags=["store"])


@router.put("/store/items", status_code=204)
async def put_item(body: StorePut, runtime: RuntimeDep) -> Response:
    await runtime.items.put(
        body.namespace, body.key, body.value, index=body.index, ttl_minutes=body.ttl
    )
    return Response(status_code=204)


@router.get("/store/items")
async def get_item(
    runtime: RuntimeDep,
    namespace: Annotated[str, Query()],
    key: Annotated[str, Query()],
    refresh_ttl: bool = True,
) -> dict[str, Any] | None:
    item = await runtime.items.get(namespace, key, refresh_ttl=refresh_ttl)
    return None if item is None else item_view(item)  # null, as the LangGraph server answers


@router.delete("/store/items", status_code=204)
async def delete_item(body: StoreDelete, runtime: RuntimeDep) -> Response:
    await runtime.items.delete(body.namespace, body.key)
    return Response(status_code=204)


@router.post("/store/items/search")
async def search_items(body: StoreSearch, runtime: RuntimeDep) -> dict[str, Any]:
    found = await runtime.items.search(body.to_search())
    # every found item has a score, null without a query, as the LangGraph server sends them
    return {"items": [{**item_view(item), "score": score} for item, score in found]}


@router.post("/store/namespaces")
async def list_namespaces(body: StoreNamespaces, runtime: RuntimeDep) -> dict[str, Any]:
    found = await runtime.items.namespaces(body.to_query())
    return {"namespaces": [list(ns) for ns in found]}
