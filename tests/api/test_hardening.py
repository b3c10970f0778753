"""Bad input over HTTP gets a clear 4xx naming the problem, writes nothing, and never poisons a
later read: the cases a fuzzer and a careless client found, each as a regression test."""

from __future__ import annotations

import json

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

HI = {"messages": [{"role": "user", "content": "hi"}]}
HUGE = 10**23  # beyond 64 bits: SQLite's JSON and orjson cannot hold it
JSON = {"content-type": "application/json"}


def _refusal(exc: BaseException) -> tuple[int, str]:
    """Status and body of an error the sdk raised (its own class or httpx's, by method)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code, exc.response.text
    return int(getattr(exc, "status_code", 0)), str(getattr(exc, "body", exc))


REFUSED = (UnprocessableEntityError, NotFoundError, httpx.HTTPStatusError)


def _raw(url: str, method: str, path: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.request(method, url + path, content=body, headers={**JSON, **headers})


async def _send(
    url: str, method: str, path: str, body: bytes | None = None, **kw: object
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.request(method, path, content=body, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path", ["/threads", "/threads/search", "/assistants/search", "/store/items/search"]
)
def test_body_that_is_not_json_is_a_422_naming_the_content_type(url: str, path: str) -> None:
    response = httpx.post(
        url + path, content=b'{"limit": 1}', headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/threads/search", {"limit": HUGE}),
        ("/threads/search", {"offset": 2**64}),
        ("/assistants/search", {"offset": 2**64}),
        ("/runs/crons/search", {"offset": 2**64}),
    ],
)
def test_integers_beyond_64_bits_in_numeric_fields_are_a_422(
    url: str, path: str, body: dict[str, int]
) -> None:
    response = _raw(url, "POST", path, json.dumps(body).encode())
    assert response.status_code == 422, response.text
    field = next(iter(body))
    assert f"body.{field}" in response.json()["detail"]
    assert "storable range" in response.json()["detail"]


async def test_unstorable_thread_metadata_is_refused_and_later_searches_still_answer(
    url: str,
) -> None:
    client = get_client(url=url)
    before = await client.threads.count()
    for body in (
        b'{"metadata": {"n": %d}}' % HUGE,
        b'{"metadata": {"n": NaN}}',
        b'{"metadata": {"n": Infinity}}',
        b'{"metadata": {"text": "nul \\u0000 inside"}}',
        b'{"metadata": {"text": "lone \\ud800 surrogate"}}',
    ):
        response = await _send(url, "POST", "/threads", body, headers=JSON)
        assert response.status_code == 422, (body, response.text)
        assert "body.metadata." in response.json()["detail"]
    assert await client.threads.count() == before  # nothing was written
    assert isinstance(await client.threads.search(limit=1000), list)


async def test_unstorable_assistant_metadata_and_store_values_are_refused(url: str) -> None:
    client = get_client(url=url)
    response = await _send(
        url, "POST", "/assistants", b'{"graph_id":"echo","metadata":{"n":%d}}' % HUGE, headers=JSON
    )
    assert response.status_code == 422
    value = b'{"namespace":["hard"],"key":"k","value":{"n":%d}}' % HUGE
    response = await _send(url, "PUT", "/store/items", value, headers=JSON)
    assert response.status_code == 422
    assert (await client.store.search_items(["hard"]))["items"] == []
    assert isinstance(await client.assistants.search(limit=100), list)


def test_a_value_nested_deeper_than_the_limit_is_refused(url: str) -> None:
    deep = b'{"metadata": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}"
    response = _raw(url, "POST", "/threads", deep)
    assert response.status_code == 422
    assert "nested deeper than 64" in response.json()["detail"]


async def test_run_input_beyond_64_bits_is_refused_before_the_run_is_queued(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    body = b'{"assistant_id":"echo","input":{"messages":[],"x":%d}}' % HUGE
    response = await _send(
        url, "POST", f"/threads/{thread['thread_id']}/runs/wait", body, headers=JSON
    )
    assert response.status_code == 422
    assert "body.input.x" in response.json()["detail"]
    assert await client.runs.list(thread["thread_id"]) == []


async def test_state_update_as_an_unknown_node_is_a_422_naming_it(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "echo", input=HI)
    with pytest.raises(REFUSED) as caught:
        await client.threads.update_state(thread["thread_id"], {"messages": []}, as_node="nope")
    status, text = _refusal(caught.value)
    assert status == 422 and "'nope' is not a node of graph 'echo'" in text
    assert "respond" in text  # the nodes it has


async def test_recursion_limit_that_is_not_a_whole_number_in_range_is_a_422(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    for value in ("x", 0, 10**6, True):
        with pytest.raises(REFUSED) as caught:
            await client.runs.wait(
                thread["thread_id"], "echo", input=HI, config={"recursion_limit": value}
            )
        status, text = _refusal(caught.value)
        assert status == 422 and "recursion_limit" in text
    assert await client.runs.list(thread["thread_id"]) == []


async def test_breakpoint_on_a_node_the_graph_lacks_is_a_422(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    with pytest.raises(REFUSED) as caught:
        await client.runs.wait(thread["thread_id"], "echo", input=HI, interrupt_before=["ghost"])
    status, text = _refusal(caught.value)
    assert status == 422 and "interrupt_before: 'ghost'" in text
    with pytest.raises(REFUSED):
        await client.runs.create(thread["thread_id"], "echo", input=HI, interrupt_after=["ghost"])
    result = await client.runs.wait(thread["thread_id"], "echo", input=HI, interrupt_before="*")
    assert result is not None  # `*` stays valid


async def test_unknown_checkpoint_id_is_a_404_naming_it(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "echo", input=HI)
    with pytest.raises(REFUSED) as caught:
        await client.runs.wait(
            thread["thread_id"], "echo", input=HI, checkpoint_id="1f0-not-a-checkpoint"
        )
    status, text = _refusal(caught.value)
    assert status == 404 and "checkpoint 1f0-not-a-checkpoint not found" in text
    history = await client.threads.get_history(thread["thread_id"], limit=5)
    known = history[-1]["checkpoint"]["checkpoint_id"]
    rerun = await client.runs.wait(thread["thread_id"], "echo", input=HI, checkpoint_id=known)
    assert rerun["messages"]


@pytest.mark.parametrize("webhook", ["::::", "file:///etc/passwd", "ftp://host/x", "http://"])
async def test_webhook_that_is_not_an_http_url_is_a_422(url: str, webhook: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    with pytest.raises(REFUSED) as caught:
        await client.runs.create(thread["thread_id"], "echo", input=HI, webhook=webhook)
    status, text = _refusal(caught.value)
    assert status == 422 and "webhook" in text
    assert await client.runs.list(thread["thread_id"]) == []


async def test_a_batch_with_one_bad_item_queues_nothing(url: str) -> None:
    client = get_client(url=url)
    good = {"assistant_id": "echo", "input": HI, "metadata": {"batch": "hard-1"}}
    bad = {"assistant_id": "echo", "input": HI, "interrupt_before": ["ghost"]}
    response = await _send(url, "POST", "/runs/batch", json=[good, bad, good])
    assert response.status_code == 422
    assert response.json()["detail"].startswith("batch item 1:")
    assert await client.threads.search(metadata={"batch": "hard-1"}) == []


def test_a_batch_over_the_limit_is_a_422_naming_the_limit(url: str) -> None:
    item = {"assistant_id": "echo", "input": HI}
    response = httpx.post(url + "/runs/batch", json=[item] * 101)
    assert response.status_code == 422
    assert "AGENT_OPS_MAX_BATCH_RUNS" in response.json()["detail"]


def test_a_body_over_the_size_limit_is_a_413_naming_the_limit(url: str) -> None:
    big = b'{"metadata": {"blob": "' + b"x" * (11 * 1024 * 1024) + b'"}}'
    response = _raw(url, "POST", "/threads", big)
    assert response.status_code == 413
    assert "AGENT_OPS_MAX_BODY_BYTES" in response.json()["detail"]
    assert response.headers["x-request-id"] == response.json()["request_id"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"metadata": {"blob": "'
        for _ in range(11):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    response = httpx.post(url + "/threads", content=chunks(), headers=JSON)
    assert response.status_code == 413


def test_every_answer_carries_a_request_id_and_echoes_a_sane_one(url: str) -> None:
    assert httpx.get(url + "/ok").headers["x-request-id"]
    mine = httpx.get(url + "/ok", headers={"x-request-id": "trace-42"})
    assert mine.headers["x-request-id"] == "trace-42"
    odd = httpx.get(url + "/ok", headers={"x-request-id": "bad id with spaces"})
    assert odd.headers["x-request-id"] != "bad id with spaces"


@pytest.mark.parametrize("header", ["abc", "-5", "1.5", "9" * 40])
async def test_join_stream_refuses_a_last_event_id_that_is_not_an_event_id(
    url: str, header: str
) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input=HI)
    await client.runs.join(thread["thread_id"], run["run_id"])
    response = await _send(
        url,
        "GET",
        f"/threads/{thread['thread_id']}/runs/{run['run_id']}/stream",
        headers={"last-event-id": header},
    )
    assert response.status_code == 422
    assert "Last-Event-ID" in response.json()["detail"]


async def test_join_stream_with_dash_or_no_id_replays_from_the_start(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input=HI)
    await client.runs.join(thread["thread_id"], run["run_id"])
    path = f"/threads/{thread['thread_id']}/runs/{run['run_id']}/stream"
    whole = (await _send(url, "GET", path, headers={"last-event-id": "-"})).text
    assert whole == (await _send(url, "GET", path)).text
    assert "event: values" in whole


@pytest.mark.parametrize("modes", [[{"a": 1}], [["values"]], [1]])
async def test_stream_mode_that_is_not_a_mode_name_is_a_422(url: str, modes: list[object]) -> None:
    body = {"assistant_id": "echo", "input": HI, "stream_mode": modes}
    response = await _send(url, "POST", "/runs/wait", json=body)
    assert response.status_code == 422
    assert "stream_mode" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/threads/abc%00def", "/threads/search?x=%00", "/assistants/a%00b/graph"]
)
async def test_a_nul_character_in_the_url_is_a_422(url: str, path: str) -> None:
    response = await _send(url, "GET", path)
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]


async def test_huge_floats_read_back_as_numbers_on_both_backends(url: str) -> None:
    # PostgreSQL's jsonb rewrites 3.5e283 as a 284-digit integer; reading must stay possible.
    client = get_client(url=url)
    thread = await client.threads.create(metadata={"big": 3.5e283, "tiny": -1e-300})
    again = await client.threads.get(thread["thread_id"])
    assert again["metadata"]["big"] == pytest.approx(3.5e283)
    assert again["metadata"]["tiny"] == pytest.approx(-1e-300)
    found = await client.threads.search(metadata={"tiny": -1e-300}, limit=5)
    assert [t["thread_id"] for t in found] == [thread["thread_id"]]


async def test_query_offset_beyond_64_bits_is_a_422(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    path = f"/threads/{thread['thread_id']}/runs?offset={2**64}"
    response = await _send(url, "GET", path)
    assert response.status_code == 422
    assert "offset" in response.json()["detail"]
