"""Assistant routes answer as the LangGraph server does (values taken from `langgraph dev`,
langgraph-api 0.16.7): config and context kept in step, status codes of refusals, graph drawing. The assistants made here are of graphs that other tests do not count."""

from __future__ import annotations

import httpx
import pytest
from langgraph_sdk import get_client


async def test_a_context_given_alone_is_also_the_configurable_of_the_config(url: str) -> None:
    client = get_client(url=url)
    made = await client.assistants.create("contextual", context={"user": "x"}, name="ctx")
    assert made["config"] == {"configurable": {"user": "x"}}
    assert made["context"] == {"user": "x"}
    changed = await client.assistants.update(made["assistant_id"], context={"user": "y"})
    assert changed["config"] == {"configurable": {"user": "y"}}
    assert changed["context"] == {"user": "y"}
    result = await client.runs.wait(None, made["assistant_id"], input={"question": "q"})
    assert result["answer"] == "plain:y:q"


async def test_a_configurable_given_alone_is_also_the_context(url: str) -> None:
    client = get_client(url=url)
    made = await client.assistants.create(
        "wrapped", config={"configurable": {"k": 1}, "tags": ["t"]}
    )
    assert made["config"] == {"configurable": {"k": 1}, "tags": ["t"]}
    assert made["context"] == {"k": 1}
    changed = await client.assistants.update(
        made["assistant_id"], config={"configurable": {"k": 2}}
    )
    assert changed["config"] == {"configurable": {"k": 2}}
    assert changed["context"] == {"k": 2}


async def test_configurable_and_context_together_are_refused_with_400(url: str) -> None:
    both = {"config": {"configurable": {"k": 1}}, "context": {"user": "x"}}
    async with httpx.AsyncClient(base_url=url) as http:
        created = await http.post("/assistants", json={"graph_id": "wrapped", **both})
        assert created.status_code == 400
        assert "context" in created.json()["detail"]
        made = (await http.post("/assistants", json={"graph_id": "wrapped"})).json()
        patched = await http.patch(f"/assistants/{made['assistant_id']}", json=both)
        assert patched.status_code == 400


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_an_assistant_of_an_unknown_graph_is_404_listing_the_graphs(
    url: str, method: str
) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        if method == "POST":
            response = await http.post("/assistants", json={"graph_id": "nope"})
        else:
            made = (await http.post("/assistants", json={"graph_id": "wrapped"})).json()
            response = await http.patch(
                f"/assistants/{made['assistant_id']}", json={"graph_id": "nope"}
            )
    assert response.status_code == 404
    assert "'nope'" in response.json()["detail"] and "echo" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/assistants/nope", "/assistants/nope/graph"])
async def test_an_assistant_id_neither_uuid_nor_graph_is_422(url: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get(path)
    assert response.status_code == 422
    assert "'nope'" in response.json()["detail"]


async def test_a_drawn_graph_names_its_nodes_without_their_class_path(url: str) -> None:
    drawn = await get_client(url=url).assistants.get_graph("echo")
    assert drawn == {
        "nodes": [
            {"id": "__start__", "type": "runnable", "data": {"name": "__start__"}},
            {"id": "respond", "type": "runnable", "data": {"name": "respond"}},
            {"id": "__end__"},
        ],
        "edges": [
            {"source": "__start__", "target": "respond"},
            {"source": "respond", "target": "__end__"},
        ],
    }


async def test_an_update_with_an_empty_config_keeps_the_current_one(url: str) -> None:
    client = get_client(url=url)
    made = await client.assistants.create("wrapped", config={"configurable": {"k": 1}})
    kept = await client.assistants.update(made["assistant_id"], config={})
    assert kept["config"] == {"configurable": {"k": 1}} and kept["version"] == 2


async def test_deleting_an_assistant_with_delete_threads_deletes_the_threads_it_ran(
    url: str,
) -> None:
    client = get_client(url=url)
    made = await client.assistants.create("wrapped", name="doomed")
    ran = await client.threads.create()
    await client.runs.wait(ran["thread_id"], made["assistant_id"], input={"question": "q"})
    other = await client.threads.create()
    await client.assistants.delete(made["assistant_id"], delete_threads=True)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.threads.get(ran["thread_id"])
    assert caught.value.response.status_code == 404
    assert (await client.threads.get(other["thread_id"]))["thread_id"] == other["thread_id"]


@pytest.mark.parametrize("path", ["/assistants/search", "/threads/search", "/runs/crons/search"])
async def test_a_search_pages_with_the_langgraph_servers_headers(url: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        # at least two records: the echo default assistant, or a made thread or cron
        await http.post("/threads", json={})
        await http.post("/threads", json={})
        cron = {"assistant_id": "wrapped", "schedule": "0 0 * * *", "input": {"question": "q"}}
        await http.post("/runs/crons", json=cron)
        await http.post("/runs/crons", json=cron)
        first = await http.post(path, json={"limit": 1})
        assert first.headers["X-Pagination-Next"] == "1"
        assert first.headers["X-Pagination-Total"] == "2"
        total = await http.post(path, json={"limit": 1000})
        assert "X-Pagination-Next" not in total.headers
        assert total.headers["X-Pagination-Total"] == str(len(total.json()))


async def test_the_sdk_pages_assistants_as_an_object_with_next(url: str) -> None:
    client = get_client(url=url)
    page = await client.assistants.search(limit=1, response_format="object")
    assert len(page["assistants"]) == 1 and page["next"] == "1"
