"""Thread routes answer as the LangGraph server does (values taken from `langgraph dev`,
langgraph-api 0.16.7): `Prefer: return=minimal` on a patch, and `extract` on a search."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk import get_client

HI = {"messages": [{"role": "user", "content": "hi"}]}


async def test_an_update_asked_to_return_minimal_answers_204_and_still_updates(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create(metadata={"a": 1})
    tid = thread["thread_id"]
    assert await client.threads.update(tid, metadata={"b": 2}, return_minimal=True) is None
    assert (await client.threads.get(tid))["metadata"] == {"a": 1, "b": 2}


async def test_a_search_extracts_paths_into_each_thread_selected_or_not(url: str) -> None:
    client = get_client(url=url)
    tag = uuid.uuid4().hex
    thread = await client.threads.create(metadata={"tag": tag})
    await client.runs.wait(thread["thread_id"], "echo", input=HI)
    extract = {
        "first": "values.messages[0].content",
        "last_type": "values.messages[-1].type",
        "tag": "metadata.tag",
        "nowhere": "values.messages[9].content",
    }
    [found] = await client.threads.search(
        metadata={"tag": tag}, select=["thread_id"], extract=extract
    )
    assert found == {
        "thread_id": thread["thread_id"],
        "extracted": {"first": "hi", "last_type": "ai", "tag": tag, "nowhere": None},
    }


@pytest.mark.parametrize(
    ("extract", "needle"),
    [
        ({"status": "values.x"}, "thread field"),
        ({"bad-alias": "values.x"}, "identifier"),
        ({"x": "run.values"}, "must start with"),
        ({f"a{i}": "values.x" for i in range(11)}, "at most 10"),
    ],
)
async def test_a_bad_extract_is_a_422_saying_why(
    url: str, extract: dict[str, str], needle: str
) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post("/threads/search", json={"extract": extract})
    assert response.status_code == 422 and needle in response.text
