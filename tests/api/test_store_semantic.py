"""Semantic store search (langgraph.json `store.index` with the embedded MiniLM model), through the
official langgraph-sdk, and the same store handed to graphs."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk import get_client

NOTES = {
    "password": "I forgot my password and cannot log in to my laptop",
    "invoice": "The supplier invoice for March is overdue and must be paid",
    "coffee": "The coffee machine on the third floor is broken again",
}


async def test_query_ranks_items_by_meaning_with_descending_scores(url: str) -> None:
    client = get_client(url=url)
    ns = ["kb", uuid.uuid4().hex]
    for key, text in NOTES.items():
        await client.store.put_item(ns, key, {"text": text, "team": "ops"})
    found = await client.store.search_items(ns, query="how do I reset my login credentials?")
    items = found["items"]
    assert [i["key"] for i in items][0] == "password"
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    assert scores[0] > scores[-1] + 0.1, scores

    paid = await client.store.search_items(ns, query="paying a bill", limit=1)
    assert [i["key"] for i in paid["items"]] == ["invoice"]


async def test_query_honours_filter_offset_and_items_left_out_of_the_index(url: str) -> None:
    client = get_client(url=url)
    ns = ["kb", uuid.uuid4().hex]
    for key, text in NOTES.items():
        await client.store.put_item(ns, key, {"text": text, "floor": 3 if key == "coffee" else 1})
    await client.store.put_item(ns, "hidden", {"text": NOTES["password"]}, index=False)
    await client.store.put_item(ns, "untexted", {"title": "no indexed field here"})

    found = await client.store.search_items(ns, query="password problems", limit=10)
    keys = [i["key"] for i in found["items"]]
    assert "hidden" not in keys and "untexted" not in keys
    plain = await client.store.search_items(ns, limit=10)
    assert {"hidden", "untexted"} <= {i["key"] for i in plain["items"]}

    on_three = await client.store.search_items(ns, query="password problems", filter={"floor": 3})
    assert [i["key"] for i in on_three["items"]] == ["coffee"]
    second = await client.store.search_items(ns, query="password problems", limit=1, offset=1)
    assert [i["key"] for i in second["items"]] == keys[1:2]


async def test_reput_replaces_the_vectors_of_an_item(url: str) -> None:
    client = get_client(url=url)
    ns = ["kb", uuid.uuid4().hex]
    await client.store.put_item(ns, "a", {"text": NOTES["coffee"]})
    await client.store.put_item(ns, "b", {"text": NOTES["invoice"]})
    await client.store.put_item(ns, "a", {"text": NOTES["password"]})
    found = await client.store.search_items(ns, query="cannot sign in to my computer", limit=1)
    assert [i["key"] for i in found["items"]] == ["a"]


async def test_indexing_a_field_list_given_with_the_put(url: str) -> None:
    client = get_client(url=url)
    ns = ["kb", uuid.uuid4().hex]
    await client.store.put_item(ns, "x", {"body": NOTES["invoice"]}, index=["body"])
    await client.store.put_item(ns, "y", {"body": NOTES["coffee"]}, index=["body"])
    found = await client.store.search_items(ns, query="pay the vendor", limit=1)
    assert [i["key"] for i in found["items"]] == ["x"]


async def test_graphs_get_the_same_store_in_async_and_sync_nodes(url: str) -> None:
    client = get_client(url=url)
    for key, text in (("coffee", NOTES["coffee"]), ("invoice", NOTES["invoice"])):
        await client.store.put_item(["notes"], key, {"text": text})
    thread = await client.threads.create()
    result = await client.runs.wait(
        thread["thread_id"],
        "notes",
        input={
            "key": "password",
            "text": NOTES["password"],
            "question": "who can help me log in again?",
        },
    )
    assert result["nearest"][0] == "password"
    assert result["recalled"] == ["password"]
    stored = await client.store.get_item(["notes"], "password")
    assert stored["value"] == {"text": NOTES["password"]}


async def test_bad_search_input_is_a_422_naming_the_field(url: str) -> None:
    client = get_client(url=url)
    with pytest.raises(httpx.HTTPStatusError) as bad:
        await client.http.post("/store/items/search", json={"namespace_prefix": [], "query": 5})
    assert bad.value.response.status_code == 422
    assert "query" in bad.value.response.text
