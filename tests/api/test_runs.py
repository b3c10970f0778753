"""Runs through the official langgraph-sdk against a real server: wait, stream, interrupts,
multitasking, cancellation, resumable streams and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client

from tests.api.conftest import new_thread
from tests.graphs.graphs import REPLY

HI = {"messages": [{"role": "user", "content": "hi"}]}


async def test_wait_returns_final_values_and_leaves_thread_idle(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], "echo", input=HI)
    assert [m["type"] for m in result["messages"]] == ["human", "ai"]
    assert result["messages"][-1]["content"] == REPLY
    stored = await client.threads.get(thread["thread_id"])
    assert stored["status"] == "idle"
    assert stored["values"]["messages"][-1]["content"] == REPLY
    runs = await client.runs.list(thread["thread_id"])
    assert [r["status"] for r in runs] == ["success"]


async def test_messages_tuple_stream_delivers_each_token_after_metadata(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    parts = [
        part
        async for part in client.runs.stream(
            thread["thread_id"], "echo", input=HI, stream_mode=["messages-tuple", "values"]
        )
    ]
    assert parts[0].event == "metadata" and "run_id" in parts[0].data
    tokens = [p.data[0]["content"] for p in parts if p.event == "messages"]
    assert "".join(tokens) == REPLY
    assert len(tokens) >= 25
    meta = next(p.data[1] for p in parts if p.event == "messages")
    assert meta["langgraph_node"] == "respond"
    assert parts[-1].event == "values"


async def test_raw_stream_has_ids_location_and_official_framing(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    async with (
        httpx.AsyncClient(base_url=url) as http,
        http.stream(
            "POST",
            f"/threads/{thread['thread_id']}/runs/stream",
            json={"assistant_id": "echo", "input": HI, "stream_mode": ["updates"]},
        ) as response,
    ):
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert response.headers["content-type"].startswith("text/event-stream")
    run_path = response.headers["content-location"]
    assert response.headers["location"] == f"{run_path}/stream"
    assert body.startswith(b"event: metadata\r\ndata: {")
    frames = [f for f in body.split(b"\r\n\r\n") if f and not f.startswith(b":")]
    ids = [int(line[4:]) for f in frames for line in f.split(b"\r\n") if line.startswith(b"id: ")]
    assert ids == list(range(1, len(frames) + 1))


async def test_interrupt_then_resume_with_command(url: str) -> None:
    client, tid = await new_thread(url)
    paused = await client.runs.wait(tid, "approve", input={"messages": []})
    assert paused["__interrupt__"][0]["value"] == {"question": "approve?"}
    stored = await client.threads.get(tid)
    assert stored["status"] == "interrupted"
    [(task_id, interrupts)] = stored["interrupts"].items()
    assert interrupts[0]["value"] == {"question": "approve?"}
    state = await client.threads.get_state(tid)
    assert state["next"] == ["ask"] and state["tasks"][0]["interrupts"]

    done = await client.runs.wait(tid, "approve", command={"resume": "yes"})
    assert done["messages"][-1]["content"] == "answer: yes"
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_resume_of_thread_that_is_not_interrupted_is_rejected(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "echo", input=HI)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.runs.wait(thread["thread_id"], "approve", command={"resume": "yes"})
    assert caught.value.response.status_code == 400
    assert "not interrupted" in caught.value.response.text


def _slow_config(markers: Any, sleep: float) -> dict[str, Any]:
    return {"configurable": {"marker_dir": str(markers), "sleep": sleep}}


async def test_multitask_reject_answers_409_naming_the_busy_run(url: str, tmp_path: Any) -> None:
    client, tid = await new_thread(url)
    first = await client.runs.create(tid, "steps", input={}, config=_slow_config(tmp_path, 2))
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.runs.create(
            tid, "steps", input={}, config=_slow_config(tmp_path, 0), multitask_strategy="reject"
        )
    assert caught.value.response.status_code == 409
    assert first["run_id"] in caught.value.response.text
    await client.runs.join(tid, first["run_id"])


async def test_runs_on_a_busy_thread_queue_in_order_with_enqueue_and_by_default(
    url: str, tmp_path: Any
) -> None:
    """`enqueue` is the LangGraph server's default too: run1 names no strategy."""
    client, tid = await new_thread(url)
    created = []
    for i, strategy in enumerate(("enqueue", None, "enqueue")):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        kwargs = {"multitask_strategy": strategy} if strategy else {}
        created.append(
            await client.runs.create(
                tid,
                "steps",
                input={"log": [f"run{i}"]},
                config=_slow_config(folder, 0.2),
                **kwargs,  # type: ignore[arg-type]
            )
        )
    assert [run["multitask_strategy"] for run in created] == ["enqueue"] * 3
    assert [run["status"] for run in created[1:]] == ["pending", "pending"]
    for run in created:
        await client.runs.join(tid, run["run_id"])
    state = await client.threads.get_state(tid)
    assert state["values"]["log"] == [
        "run0",
        "first",
        "second",
        "run1",
        "first",
        "second",
        "run2",
        "first",
        "second",
    ]


async def test_cancel_interrupts_a_running_run(url: str, tmp_path: Any) -> None:
    client, tid = await new_thread(url)
    run = await client.runs.create(tid, "steps", input={}, config=_slow_config(tmp_path, 30))
    for _ in range(200):
        if (tmp_path / "second-started").exists():
            break
        await asyncio.sleep(0.05)
    answer = await client.runs.cancel(tid, run["run_id"], wait=True)
    # Waited for, a cancel answers what joining the run does, as the LangGraph server's does.
    assert isinstance(answer, dict)
    assert answer == await client.runs.join(tid, run["run_id"])
    cancelled = await client.runs.get(tid, run["run_id"])
    assert cancelled["status"] == "interrupted"
    assert not (tmp_path / "second-done").exists()
    assert (await client.threads.get(tid))["status"] == "idle"


async def _started(markers: Any) -> None:
    for _ in range(400):
        if (markers / "second-started").exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the slow step never started ({markers})")


async def test_rollback_deletes_the_run_and_returns_the_thread_to_its_state_before(
    url: str, tmp_path: Any
) -> None:
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    for name in ("kept", "slow", "doomed", "replacement"):
        (tmp_path / name).mkdir()
    kept = await client.runs.create(
        tid, "steps", input={}, config=_slow_config(tmp_path / "kept", 0)
    )
    before = await client.runs.join(tid, kept["run_id"])
    assert before["log"] == ["first", "second"]

    slow = await client.runs.create(
        tid, "steps", input={}, config=_slow_config(tmp_path / "slow", 30)
    )
    await _started(tmp_path / "slow")
    await client.runs.cancel(tid, slow["run_id"], wait=True, action="rollback")

    with pytest.raises(httpx.HTTPStatusError) as missing:
        await client.runs.get(tid, slow["run_id"])
    assert missing.value.response.status_code == 404
    assert [r["run_id"] for r in await client.runs.list(tid)] == [kept["run_id"]]
    thread = await client.threads.get(tid)
    assert (thread["status"], thread["values"]) == ("idle", before)
    history = await client.threads.get_history(tid, limit=50)
    assert {h["metadata"]["run_id"] for h in history} == {kept["run_id"]}

    doomed = await client.runs.create(
        tid, "steps", input={}, config=_slow_config(tmp_path / "doomed", 30)
    )
    await _started(tmp_path / "doomed")
    result = await client.runs.wait(
        tid,
        "steps",
        input={},
        config=_slow_config(tmp_path / "replacement", 0),
        multitask_strategy="rollback",
    )
    assert result["log"] == ["first", "second", "first", "second"]
    assert [r["status"] for r in await client.runs.list(tid)] == ["success", "success"]
    with pytest.raises(httpx.HTTPStatusError) as gone:
        await client.runs.join(tid, doomed["run_id"])
    assert gone.value.response.status_code == 404


async def test_join_stream_after_reconnect_misses_no_event(url: str) -> None:
    client, tid = await new_thread(url)
    run = await client.runs.create(tid, "echo", input=HI, stream_mode=["messages-tuple", "values"])
    await client.runs.join(tid, run["run_id"])
    path = f"/threads/{tid}/runs/{run['run_id']}/stream"

    async def frames(last_event_id: str | None) -> list[bytes]:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        async with (
            httpx.AsyncClient(base_url=url) as http,
            http.stream("GET", path, headers=headers) as response,
        ):
            body = b"".join([c async for c in response.aiter_bytes()])
        return [f for f in body.split(b"\r\n\r\n") if f and not f.startswith(b":")]

    everything = await frames(None)
    assert len(everything) > 25
    cut = 10
    seen = everything[:cut]
    last_id = seen[-1].split(b"id: ")[1].decode()
    rest = await frames(last_id)
    assert seen + rest == everything


async def test_graph_error_ends_run_in_error_with_message_and_server_keeps_serving(
    url: str,
) -> None:
    client, tid = await new_thread(url)
    parts = [p async for p in client.runs.stream(tid, "fail", input=HI)]
    errors = [p for p in parts if p.event == "error"]
    assert errors and errors[0].data["error"] == "ValueError"
    assert "does not match lines" in errors[0].data["message"]
    runs = await client.runs.list(tid)
    assert runs[0]["status"] == "error"
    assert (await client.threads.get(tid))["status"] == "error"
    with pytest.raises(Exception, match="ValueError: invoice total"):
        await client.runs.wait(tid, "fail", input=HI)
    assert (await client.runs.wait(None, "echo", input=HI))["messages"][-1]["content"] == REPLY


async def test_fork_from_an_earlier_checkpoint(url: str) -> None:
    client, tid = await new_thread(url)
    await client.runs.wait(tid, "echo", input={"messages": [{"role": "user", "content": "one"}]})
    await client.runs.wait(tid, "echo", input={"messages": [{"role": "user", "content": "two"}]})
    history = await client.threads.get_history(tid, limit=20)
    after_first = next(
        s for s in history if len(s["values"].get("messages", [])) == 2 and not s["next"]
    )
    forked = await client.runs.wait(
        tid,
        "echo",
        input={"messages": [{"role": "user", "content": "three"}]},
        checkpoint_id=after_first["checkpoint"]["checkpoint_id"],
    )
    assert [m["content"] for m in forked["messages"] if m["type"] == "human"] == ["one", "three"]


async def test_stateless_wait_and_stream_then_the_thread_goes_away(url: str) -> None:
    client = get_client(url=url)
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post("/runs/wait", json={"assistant_id": "echo", "input": HI})
    assert response.json()["messages"][-1]["content"] == REPLY
    thread_id = response.headers["location"].split("/")[2]  # /threads/{tid}/runs/{rid}/join
    assert (await client.threads.get(thread_id))["status"] == "idle"
    for _ in range(100):  # retention is 1 s in this suite; the sweeper runs every second
        try:
            await client.threads.get(thread_id)
        except httpx.HTTPStatusError as exc:
            assert exc.response.status_code == 404
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the stateless run's thread was not removed")
    events = [p.event async for p in client.runs.stream(None, "echo", input=HI)]
    assert events[0] == "metadata" and "values" in events


def test_sync_client_round_trip(url: str) -> None:
    client = get_sync_client(url=url)
    thread = client.threads.create()
    result = client.runs.wait(thread["thread_id"], "echo", input=HI)
    assert result["messages"][-1]["content"] == REPLY


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/threads/not-a-uuid/runs/wait", {"assistant_id": "echo"}, 422, "thread_id"),
        (
            "/threads/00000000-0000-0000-0000-000000000000/runs/wait",
            {"assistant_id": "echo"},
            404,
            "not found",
        ),
        ("/runs/wait", {"assistant_id": "nope"}, 422, "echo"),  # as the LangGraph server
        ("/runs/wait", {"assistant_id": "echo", "inptu": {}}, 422, "inptu"),
        ("/runs/wait", {"assistant_id": "echo", "stream_mode": ["bogus"]}, 422, "bogus"),
        (
            "/runs/wait",
            {"assistant_id": "echo", "multitask_strategy": "maybe"},
            422,
            "multitask_strategy",
        ),
    ],
)
async def test_bad_run_requests_get_clear_errors(
    url: str, path: str, body: dict[str, Any], status: int, needle: str
) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post(path, json=body)
    assert response.status_code == status
    assert needle in response.text


async def test_webhook_receives_the_finished_run_after_a_failed_attempt(url: str) -> None:
    import http.server
    import json
    import threading

    received: list[dict[str, Any]] = []
    answers = iter([503, 200])

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(json.loads(body))
            self.send_response(next(answers, 200))
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        client = get_client(url=url)
        thread = await client.threads.create()
        webhook = f"http://127.0.0.1:{hook.server_address[1]}/done"
        run = await client.runs.create(thread["thread_id"], "echo", input=HI, webhook=webhook)
        for _ in range(100):
            if len(received) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        hook.shutdown()
    assert len(received) == 2, "one failed attempt, then one delivery"
    assert received[1]["run_id"] == run["run_id"] and received[1]["status"] == "success"
    assert received[1]["values"]["messages"][-1]["content"] == REPLY


async def test_client_leaving_a_stream_with_on_disconnect_cancel_cancels_the_run(
    url: str, tmp_path: Any
) -> None:
    client, tid = await new_thread(url)
    async with (
        httpx.AsyncClient(base_url=url) as http,
        http.stream(
            "POST",
            f"/threads/{tid}/runs/stream",
            json={
                "assistant_id": "steps",
                "input": {},
                "on_disconnect": "cancel",
                "config": _slow_config(tmp_path, 30),
            },
        ) as response,
    ):
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        async for _chunk in response.aiter_bytes():
            if (tmp_path / "second-started").exists():
                break
    for _ in range(100):
        if (await client.runs.get(tid, run_id))["status"] == "interrupted":
            break
        await asyncio.sleep(0.1)
    assert (await client.runs.get(tid, run_id))["status"] == "interrupted"
    assert not (tmp_path / "second-done").exists()
