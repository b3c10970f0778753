"""Streaming through the official langgraph-sdk: `stream_mode="events"` (LangChain's
`astream_events` v2, alone or beside other modes, inside subgraphs) and the thread stream
(`GET /threads/{id}/stream`: live runs, replay with Last-Event-ID, lifecycle, bad modes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.schema import StreamPart

from tests.api.conftest import new_thread
from tests.graphs.graphs import REPLY
from tests.pgcluster import PgCluster
from tests.servers import AgentOpsProcess

HI = {"messages": [{"role": "user", "content": "hi"}]}
EVENT_KEYS = {"event", "name", "run_id", "tags", "metadata", "data", "parent_ids"}


def _tokens(parts: list[StreamPart]) -> list[str]:
    return [
        p.data["data"]["chunk"]["content"]
        for p in parts
        if p.event == "events" and p.data["event"] == "on_chat_model_stream"
    ]


async def _until(
    stream: AsyncIterator[StreamPart], stop: Callable[[StreamPart], bool], seconds: float = 30
) -> list[StreamPart]:
    """Read a (never-ending) thread stream up to and including the first part `stop` accepts."""

    async def read() -> list[StreamPart]:
        parts = []
        async for part in stream:
            parts.append(part)
            if stop(part):
                return parts
        raise AssertionError(f"the stream ended early after {parts}")

    return await asyncio.wait_for(read(), seconds)


async def _joined(stream: AsyncIterator[StreamPart]) -> asyncio.Future[StreamPart]:
    """Start reading a live thread stream and give the server time to take the join."""
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.3)
    return first


def _run_done(run_id: str) -> Callable[[StreamPart], bool]:
    return lambda p: p.event == "metadata" and p.data == {"status": "run_done", "run_id": run_id}


# -- stream_mode="events" -------------------------------------------------------------------------
async def test_events_mode_streams_each_token_of_the_chat_model_as_langchain_events(
    url: str,
) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"], "echo", input=HI, stream_mode="events"
        )
    ]
    assert parts[0].event == "metadata"
    run_id = parts[0].data["run_id"]
    assert {p.event for p in parts[1:]} == {"events"}
    assert all(set(p.data) == EVENT_KEYS for p in parts[1:])
    first, last = parts[1].data, parts[-1].data
    assert (first["event"], first["run_id"], first["parent_ids"]) == ("on_chain_start", run_id, [])
    assert first["data"]["input"] == HI
    assert (last["event"], last["run_id"]) == ("on_chain_end", run_id)
    assert last["data"]["output"]["messages"][-1]["content"] == REPLY
    tokens = _tokens(parts)
    assert len(tokens) >= 25 and "".join(tokens) == REPLY
    stream = next(p.data for p in parts[1:] if p.data["event"] == "on_chat_model_stream")
    assert stream["name"] == "GenericFakeChatModel"
    assert stream["metadata"]["langgraph_node"] == "respond"
    assert stream["parent_ids"][0] == run_id and len(stream["parent_ids"]) == 2
    names = [p.data["event"] for p in parts[1:]]
    assert names.index("on_chat_model_start") < names.index("on_chat_model_stream")
    assert names.index("on_chat_model_end") > names.index("on_chat_model_stream")


async def test_events_and_values_in_one_run_keep_both_streams(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"], "echo", input=HI, stream_mode=["values", "events"]
        )
    ]
    values = [p.data for p in parts if p.event == "values"]
    assert [len(v["messages"]) for v in values] == [1, 2]
    assert values[-1]["messages"][-1]["content"] == REPLY
    assert "".join(_tokens(parts)) == REPLY
    # The graph's own stream of chunks is what the values events are made of, not an event.
    root = parts[0].data["run_id"]
    assert not [
        p
        for p in parts
        if p.event == "events" and p.data["event"] == "on_chain_stream" and p.data["run_id"] == root
    ]
    assert {p.event for p in parts} == {"metadata", "values", "events"}


async def test_events_from_a_subgraph_come_with_namespaced_values_when_subgraphs_stream(
    url: str,
) -> None:
    client = get_client(url=url)
    parts = [
        p
        async for p in client.runs.stream(
            None, "nested", input=HI, stream_mode=["values", "events"], stream_subgraphs=True
        )
    ]
    inner = [p for p in parts if p.event.startswith("values|inner:")]
    assert inner and inner[-1].data["messages"][-1]["content"] == REPLY
    assert [len(p.data["messages"]) for p in parts if p.event == "values"] == [1, 2]
    streamed = [
        p.data for p in parts if p.event == "events" and p.data["event"] == "on_chat_model_stream"
    ]
    assert "".join(e["data"]["chunk"]["content"] for e in streamed) == REPLY
    assert all(e["metadata"]["langgraph_checkpoint_ns"].startswith("inner:") for e in streamed)
    assert len(streamed[0]["parent_ids"]) == 4  # run, inner node, subgraph, respond node


async def test_background_run_with_events_is_joined_later_with_every_event(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input=HI, stream_mode="events")
    await client.runs.join(thread["thread_id"], run["run_id"])
    parts = [p async for p in client.runs.join_stream(thread["thread_id"], run["run_id"])]
    assert parts[0].data == {"run_id": run["run_id"], "attempt": 1}
    assert "".join(_tokens(parts)) == REPLY
    assert parts[-1].data["event"] == "on_chain_end"


# -- GET /threads/{id}/stream ---------------------------------------------------------------------
async def test_thread_stream_delivers_the_events_of_a_run_started_after_joining(
    url: str, tmp_path: Path
) -> None:
    client, tid = await new_thread(url)
    await client.runs.wait(tid, "echo", input=HI)  # finished before the join: not streamed
    stream = await client.threads.join_stream(tid)
    first = await _joined(stream)  # the join is under way before the run exists
    config = {"configurable": {"marker_dir": str(tmp_path), "sleep": 0.5}}
    run = await client.runs.create(
        tid, "steps", input={"log": []}, config=config, stream_mode=["updates", "values"]
    )
    parts = [await asyncio.wait_for(first, 30)]
    parts += await _until(stream, _run_done(run["run_id"]))
    await stream.aclose()
    assert parts[0].data == {"run_id": run["run_id"], "attempt": 1}
    assert [p.data for p in parts if p.event == "updates"] == [
        {"first": {"log": ["first"]}},
        {"second": {"log": ["second"]}},
    ]
    assert [p.data for p in parts if p.event == "values"][-1] == {"log": ["first", "second"]}
    assert [p.event for p in parts].count("metadata") == 2
    assert all(p.id for p in parts)


async def test_thread_stream_replays_every_run_from_the_start_and_after_any_event_id(
    url: str,
) -> None:
    client, tid = await new_thread(url)
    runs = []
    for mode in ("values", "events"):
        runs.append(await client.runs.create(tid, "echo", input=HI, stream_mode=mode))
        await client.runs.join(tid, runs[-1]["run_id"])

    full = await _until(
        await client.threads.join_stream(tid, last_event_id="-"), _run_done(runs[-1]["run_id"])
    )
    starts = [p.data for p in full if p.event == "metadata" and "attempt" in p.data]
    assert [s["run_id"] for s in starts] == [r["run_id"] for r in runs]
    assert _run_done(runs[0]["run_id"])(full[3])  # metadata, values, values, run_done
    assert "".join(_tokens(full)) == REPLY
    assert len({p.id for p in full}) == len(full)

    for cut in (0, 2, 3, 4, len(full) // 2, len(full) - 2):
        rest = await _until(
            await client.threads.join_stream(tid, last_event_id=full[cut].id),
            _run_done(runs[-1]["run_id"]),
        )
        assert rest == full[cut + 1 :], f"resuming after event {cut}"


async def test_lifecycle_thread_stream_has_only_run_starts_and_ends(url: str) -> None:
    client, tid = await new_thread(url)
    first = await client.runs.create(tid, "echo", input=HI, stream_mode="events")
    second = await client.runs.create(
        tid, "fail", input=HI, stream_mode="values", multitask_strategy="enqueue"
    )
    await client.runs.join(tid, second["run_id"])
    parts = await _until(
        await client.threads.join_stream(tid, last_event_id="-", stream_mode="lifecycle"),
        _run_done(second["run_id"]),
    )
    assert [(p.event, p.data) for p in parts] == [
        ("metadata", {"run_id": first["run_id"], "attempt": 1}),
        ("metadata", {"status": "run_done", "run_id": first["run_id"]}),
        ("metadata", {"run_id": second["run_id"], "attempt": 1}),
        ("metadata", {"status": "run_done", "run_id": second["run_id"]}),
    ]


async def test_thread_stream_rejects_unknown_modes_and_ids_with_422_naming_them(url: str) -> None:
    client, tid = await new_thread(url)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await anext(await client.threads.join_stream(tid, stream_mode="everything"))  # type: ignore[arg-type]
    assert caught.value.response.status_code == 422
    assert "'everything'" in caught.value.response.text
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await anext(await client.threads.join_stream(tid, last_event_id="12-0"))
    assert caught.value.response.status_code == 422
    assert "'12-0'" in caught.value.response.text
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await anext(await client.threads.join_stream(str(uuid.uuid4())))
    assert caught.value.response.status_code == 404
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.runs.create(tid, "echo", input=HI, stream_mode="event")  # type: ignore[arg-type]
    assert caught.value.response.status_code == 422
    assert "'event'" in caught.value.response.text


async def test_state_updates_join_the_thread_stream_between_runs_in_state_update_mode(
    url: str,
) -> None:
    client, tid = await new_thread(url)
    before = await client.runs.create(tid, "echo", input=HI, stream_mode="values")
    await client.runs.join(tid, before["run_id"])
    live = await client.threads.join_stream(tid, stream_mode="state_update")
    first = await _joined(live)
    edited = {"messages": [{"role": "user", "content": "edited", "id": "m-edit"}]}
    await client.threads.update_state(tid, edited, as_node="respond")
    update = await asyncio.wait_for(first, 30)
    await live.aclose()
    assert update.event == "state_update" and update.data["thread_id"] == tid
    assert update.data["state"]["values"]["messages"][-1]["content"] == "edited"
    assert update.data["state"] == await client.threads.get_state(tid)
    after = await client.runs.create(tid, "echo", input=HI, stream_mode="values")
    await client.runs.join(tid, after["run_id"])

    everything = await _until(
        await client.threads.join_stream(
            tid, last_event_id="-", stream_mode=["run_modes", "state_update"]
        ),
        _run_done(after["run_id"]),
    )
    assert [p.event for p in everything] == [
        *("metadata", "values", "values", "metadata"),
        "state_update",
        *("metadata", "values", "values", "metadata"),
    ]
    assert everything[4] == update
    only_runs = await _until(
        await client.threads.join_stream(tid, last_event_id="-"), _run_done(after["run_id"])
    )
    assert only_runs == everything[:4] + everything[5:]
    resumed = await _until(
        await client.threads.join_stream(
            tid, last_event_id=update.id, stream_mode=["run_modes", "state_update"]
        ),
        _run_done(after["run_id"]),
    )
    assert resumed == everything[5:]


@pytest.mark.postgres
async def test_thread_stream_served_by_another_process_than_the_one_running(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    database = pg_cluster.create_database(f"two_{uuid.uuid4().hex}")
    runner = AgentOpsProcess(database, tmp_path, name="runner").start()
    viewer = AgentOpsProcess(database, tmp_path, env={"AGENT_OPS_WORKERS": "0"}, name="viewer")
    viewer.start()
    try:
        assert runner.url is not None and viewer.url is not None
        runs_at, watch_at = get_client(url=runner.url), get_client(url=viewer.url)
        thread = await runs_at.threads.create()
        tid = thread["thread_id"]
        stream = await watch_at.threads.join_stream(tid)
        first = await _joined(stream)
        run = await runs_at.runs.create(tid, "echo", input=HI, stream_mode=["values", "events"])
        parts = [await asyncio.wait_for(first, 30)]
        parts += await _until(stream, _run_done(run["run_id"]))
        await stream.aclose()
        assert parts[0].data == {"run_id": run["run_id"], "attempt": 1}
        assert "".join(_tokens(parts)) == REPLY
        values: list[dict[str, Any]] = [p.data for p in parts if p.event == "values"]
        assert values[-1]["messages"][-1]["content"] == REPLY
    finally:
        viewer.stop()
        runner.stop()
