"""Assistants, threads, store and crons through the official langgraph-sdk."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from langgraph_sdk import get_client

HI = {"messages": [{"role": "user", "content": "hi"}]}


async def test_default_assistants_exist_per_graph_and_graph_id_is_accepted(url: str) -> None:
    client = get_client(url=url)
    found = await client.assistants.search(graph_id="echo")
    assert len(found) == 1 and found[0]["metadata"]["created_by"] == "system"
    by_graph = await client.assistants.get("echo")
    assert by_graph["assistant_id"] == found[0]["assistant_id"]
    drawn = await client.assistants.get_graph("echo")
    assert {n["id"] for n in drawn["nodes"]} >= {"__start__", "respond"}
    schemas = await client.assistants.get_schemas("echo")
    assert "messages" in schemas["input_schema"]["properties"]


async def test_assistant_create_update_versions_and_delete(url: str) -> None:
    client = get_client(url=url)
    created = await client.assistants.create(
        "echo", config={"configurable": {"tone": "dry"}}, metadata={"team": "ap"}, name="ap-bot"
    )
    aid = created["assistant_id"]
    assert created["version"] == 1
    updated = await client.assistants.update(aid, metadata={"owner": "maria"})
    assert updated["version"] == 2 and updated["metadata"] == {"team": "ap", "owner": "maria"}
    versions = await client.assistants.get_versions(aid)
    assert [v["version"] for v in versions] == [2, 1]
    back = await client.assistants.set_latest(aid, 1)
    assert back["version"] == 1 and back["metadata"] == {"team": "ap"}
    assert await client.assistants.count(metadata={"team": "ap"}) >= 1
    result = await client.runs.wait(None, aid, input=HI)
    assert result["messages"][-1]["type"] == "ai"
    await client.assistants.delete(aid)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.assistants.get(aid)
    assert caught.value.response.status_code == 404


async def test_assistant_for_unregistered_graph_is_rejected_listing_graphs(url: str) -> None:
    client = get_client(url=url)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.assistants.create("nope")
    assert caught.value.response.status_code == 404  # as the LangGraph server answers
    assert "echo" in caught.value.response.text


async def test_threads_create_search_count_update_delete(url: str) -> None:
    client = get_client(url=url)
    tag = uuid.uuid4().hex
    thread = await client.threads.create(metadata={"tag": tag, "kind": "invoice"})
    tid = thread["thread_id"]
    assert thread["status"] == "idle"
    same = await client.threads.create(thread_id=tid, if_exists="do_nothing")
    assert same["thread_id"] == tid
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.threads.create(thread_id=tid)
    assert caught.value.response.status_code == 409
    await client.runs.wait(tid, "echo", input=HI)
    found = await client.threads.search(metadata={"tag": tag}, status="idle")
    assert [t["thread_id"] for t in found] == [tid]
    assert found[0]["metadata"]["graph_id"] == "echo"
    assert await client.threads.count(metadata={"tag": tag}) == 1
    patched = await client.threads.update(tid, metadata={"reviewed": True})
    assert patched["metadata"]["reviewed"] is True and patched["metadata"]["tag"] == tag
    await client.threads.delete(tid)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.threads.get(tid)
    assert caught.value.response.status_code == 404
    assert "not found" in caught.value.response.text


async def test_thread_state_update_and_history(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "echo", input=HI)
    before = await client.threads.get_state(tid)
    await client.threads.update_state(
        tid, {"messages": [{"role": "user", "content": "added by hand"}]}, as_node="respond"
    )
    after = await client.threads.get_state(tid)
    assert after["values"]["messages"][-1]["content"] == "added by hand"
    assert after["checkpoint"]["checkpoint_id"] != before["checkpoint"]["checkpoint_id"]
    history = await client.threads.get_history(tid, limit=3)
    assert len(history) == 3
    old = await client.threads.get_state(tid, checkpoint_id=before["checkpoint"]["checkpoint_id"])
    assert len(old["values"]["messages"]) == 2


async def test_store_put_get_search_namespaces_delete(url: str) -> None:
    client = get_client(url=url)
    ns = ["vendors", uuid.uuid4().hex]
    await client.store.put_item(ns, "acme", {"name": "ACME", "country": "DE"})
    await client.store.put_item(ns + ["contacts"], "bob", {"name": "Bob", "country": "FR"})
    item = await client.store.get_item(ns, "acme")
    assert item["value"] == {"name": "ACME", "country": "DE"} and item["namespace"] == ns
    found = await client.store.search_items(ns, filter={"country": "FR"})
    assert [i["key"] for i in found["items"]] == ["bob"]
    spaces = await client.store.list_namespaces(prefix=ns)
    assert sorted(spaces["namespaces"]) == sorted([ns, ns + ["contacts"]])
    shallow = await client.store.list_namespaces(prefix=ns, max_depth=2)
    assert shallow["namespaces"] == [ns]
    await client.store.delete_item(ns, "acme")
    assert await client.store.get_item(ns, "acme") is None  # null, as the LangGraph server


async def test_store_item_with_ttl_expires(url: str) -> None:
    client = get_client(url=url)
    ns = ["ttl", uuid.uuid4().hex]
    await client.store.put_item(ns, "k", {"v": 1}, ttl=0.02)  # minutes: 1.2 s
    assert (await client.store.get_item(ns, "k", refresh_ttl=False))["value"] == {"v": 1}
    await asyncio.sleep(1.5)
    assert await client.store.get_item(ns, "k") is None


async def test_cron_on_thread_fires_once_per_due_time(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    cron = await client.crons.create_for_thread(tid, "echo", schedule="* * * * * *", input=HI)
    assert (await client.crons.search(thread_id=tid))[0]["cron_id"] == cron["cron_id"]
    for _ in range(100):
        runs = await client.runs.list(tid, limit=50)
        if len(runs) >= 2:
            break
        await asyncio.sleep(0.1)
    await client.crons.delete(cron["cron_id"])
    await asyncio.sleep(1.5)
    runs = await client.runs.list(tid, limit=50)
    fire_times = [r["metadata"]["cron_fire_time"] for r in runs]
    assert len(fire_times) >= 2
    assert len(fire_times) == len(set(fire_times)), "a due time fired twice"
    assert await client.crons.count(thread_id=tid) == 0


async def test_invalid_cron_schedule_is_rejected(url: str) -> None:
    client = get_client(url=url)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.crons.create("echo", schedule="every tuesday")
    assert caught.value.response.status_code == 422
    assert "every tuesday" in caught.value.response.text


async def test_copied_thread_has_the_same_state_and_history_and_diverges(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create(metadata={"case": "copy"})
    tid = thread["thread_id"]
    await client.runs.wait(tid, "echo", input=HI)
    copy = await client.threads.copy(tid)
    cid = copy["thread_id"]
    assert cid != tid and copy["metadata"]["case"] == "copy"
    original, copied = await client.threads.get_state(tid), await client.threads.get_state(cid)
    assert copied["values"] == original["values"]
    assert len(await client.threads.get_history(cid, limit=50)) == len(
        await client.threads.get_history(tid, limit=50)
    )
    await client.runs.wait(cid, "echo", input={"messages": [{"role": "user", "content": "more"}]})
    assert len((await client.threads.get_state(cid))["values"]["messages"]) == 4
    assert len((await client.threads.get_state(tid))["values"]["messages"]) == 2


async def test_copy_of_interrupted_thread_can_be_resumed_separately(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "approve", input={"messages": []})
    copy = await client.threads.copy(tid)
    assert copy["status"] == "interrupted"
    done = await client.runs.wait(copy["thread_id"], "approve", command={"resume": "copy"})
    assert done["messages"][-1]["content"] == "answer: copy"
    assert (await client.threads.get(tid))["status"] == "interrupted"


async def test_prune_deletes_threads(url: str) -> None:
    client = get_client(url=url)
    threads = [await client.threads.create() for _ in range(2)]
    result = await client.threads.prune([t["thread_id"] for t in threads])
    assert result == {"pruned_count": 2}
    with pytest.raises(httpx.HTTPStatusError):
        await client.threads.get(threads[0]["thread_id"])


async def test_search_select_returns_only_the_chosen_fields(url: str) -> None:
    client = get_client(url=url)
    tag = uuid.uuid4().hex
    await client.threads.create(metadata={"tag": tag})
    [found] = await client.threads.search(metadata={"tag": tag}, select=["thread_id", "status"])
    assert set(found) == {"thread_id", "status"}
    [assistant] = await client.assistants.search(graph_id="echo", select=["assistant_id"])
    assert set(assistant) == {"assistant_id"}
