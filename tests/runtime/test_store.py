"""The store graphs get (`ServerStore`, LangGraph's BaseStore over our storage), on both backends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langgraph.store.base import Item, SearchItem

from agent_ops.errors import ConfigError, InvalidInput
from agent_ops.runtime.store import ServerStore, build_index
from agent_ops.storage import Storage

INDEX = {"index": {"embed": "local:minilm", "dims": 384, "fields": ["text"]}}


async def test_base_store_operations_round_trip(storage: Storage, tmp_path: Path) -> None:
    store = ServerStore(storage, build_index(INDEX, tmp_path))
    await store.aput(("users", "u1", "memories"), "m1", {"text": "likes espresso"})
    await store.aput(("users", "u1", "memories"), "m2", {"text": "works on invoices"})
    await store.aput(("users", "u2", "memories"), "m1", {"text": "plays chess"})

    got = await store.aget(("users", "u1", "memories"), "m1")
    assert isinstance(got, Item) and got.value == {"text": "likes espresso"}
    hits = await store.asearch(("users", "u1"), query="coffee", limit=5)
    assert [h.key for h in hits] == ["m1", "m2"] and all(isinstance(h, SearchItem) for h in hits)
    assert hits[0].score is not None and hits[0].score > hits[1].score  # type: ignore[operator]
    plain = await store.asearch(("users",), filter={"text": "plays chess"})
    assert [(h.namespace, h.score) for h in plain] == [(("users", "u2", "memories"), None)]
    spaces = await store.alist_namespaces(prefix=("users",), max_depth=2)
    assert spaces == [("users", "u1"), ("users", "u2")]
    await store.adelete(("users", "u1", "memories"), "m1")
    assert await store.aget(("users", "u1", "memories"), "m1") is None


async def test_sync_calls_from_a_worker_thread_hop_onto_the_loop(storage: Storage) -> None:
    store = ServerStore(storage)
    store.bind_loop(asyncio.get_running_loop())

    def in_thread() -> object:
        store.put(("t",), "k", {"v": 1})
        return store.get(("t",), "k")

    item = await asyncio.to_thread(in_thread)
    assert isinstance(item, Item) and item.value == {"v": 1}


async def test_without_an_index_indexing_is_refused_and_a_query_ignored(storage: Storage) -> None:
    store = ServerStore(storage)
    with pytest.raises(InvalidInput, match="index"):
        await store.put_value(("a",), "k", {"text": "x"}, ["text"])
    await store.aput(("a",), "k", {"text": "x"})  # a plain put still works
    assert [i.key for i in await store.asearch(("a",))] == ["k"]
    # A graph's query without an index is ignored, as LangGraph's own stores do: unscored.
    assert [(i.key, i.score) for i in await store.asearch(("a",), query="x")] == [("k", None)]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"index": {"dims": 384}}, '"embed"'),
        ({"index": {"embed": "local:minilm", "dims": 0}}, "dims"),
        ({"index": {"embed": "local:minilm", "dims": 1536}}, "384-dimension"),
        ({"index": {"embed": "local:minilm", "dims": 384, "fields": "text"}}, "fields"),
        ({"index": {"embed": "nobody", "dims": 384}}, "not known"),
        ({"index": {"embed": "./missing.py:emb", "dims": 384}}, "does not exist"),
    ],
)
def test_bad_index_config_is_a_config_error_naming_it(
    config: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_index(config, tmp_path)
