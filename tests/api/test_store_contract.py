"""Store routes answer as the LangGraph server does (values taken from `langgraph dev`,
langgraph-api 0.16.7): a missing item is null, found items carry a score (null without a query),
and filters compare with `$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`."""

from __future__ import annotations

import uuid

import httpx
from langgraph_sdk import get_client


async def test_a_missing_item_is_null_with_200(url: str) -> None:
    namespace = ["contract", uuid.uuid4().hex]
    assert await get_client(url=url).store.get_item(namespace, "nope") is None
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get(
            "/store/items", params={"namespace": ".".join(namespace), "key": "nope"}
        )
    assert response.status_code == 200 and response.json() is None


async def test_search_filters_with_operators_and_scores_each_item(url: str) -> None:
    client = get_client(url=url)
    namespace = ["contract", uuid.uuid4().hex]
    for key, n in (("k1", 1), ("k2", 2), ("k3", 3)):
        await client.store.put_item(namespace, key, {"n": n}, index=False)
    found = await client.store.search_items(namespace, filter={"n": {"$gt": 1}})
    assert sorted(i["key"] for i in found["items"]) == ["k2", "k3"]
    assert all(i["score"] is None for i in found["items"])
    found = await client.store.search_items(namespace, filter={"n": {"$gte": 2, "$lt": 3}})
    assert [i["key"] for i in found["items"]] == ["k2"]
    found = await client.store.search_items(namespace, filter={"n": {"$ne": 2}})
    assert sorted(i["key"] for i in found["items"]) == ["k1", "k3"]


async def test_an_unknown_filter_operator_is_a_422_naming_it(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post(
            "/store/items/search",
            json={"namespace_prefix": ["contract"], "filter": {"n": {"$near": 1}}},
        )
    assert response.status_code == 422 and "$near" in response.json()["detail"]
