"""Per-field size limits and the cap on open streams, through a real server with small limits:
each refusal names the field (or setting) and the limit, and a refused write stores nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import APIStatusError, NotFoundError, RateLimitError

from tests.governance.conftest import KEYS_AUTH, create_key
from tests.servers import AgentOpsProcess, new_server, server_per_backend, serving

METADATA_BYTES = 1024
INPUT_BYTES = 4096
STORE_VALUE_BYTES = 2048
STREAMS = 2
HI = {"messages": [{"role": "user", "content": "hi"}]}


def _blob(size: int) -> str:
    return "x" * size


limited_server = server_per_backend(
    "limits",
    {
        "AGENT_OPS_WORKERS": "2",
        "AGENT_OPS_MAX_METADATA_BYTES": str(METADATA_BYTES),
        "AGENT_OPS_MAX_INPUT_BYTES": str(INPUT_BYTES),
        "AGENT_OPS_MAX_STORE_VALUE_BYTES": str(STORE_VALUE_BYTES),
        "AGENT_OPS_MAX_STREAMS_PER_CALLER": str(STREAMS),
    },
    scope="module",
)


@pytest.fixture(scope="module")
def limited(limited_server: AgentOpsProcess) -> str:
    assert limited_server.url is not None
    return limited_server.url


REFUSED = (APIStatusError, httpx.HTTPStatusError)


def _refusal(exc: BaseException) -> tuple[int, str]:
    """Status and detail of an error the sdk raised (its own class or httpx's, by method)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code, str(exc.response.json()["detail"])
    assert isinstance(exc, APIStatusError)
    return exc.status_code, str(exc.body["detail"])  # type: ignore[index]


def _too_large(exc: pytest.ExceptionInfo[Exception], field: str, setting: str) -> str:
    """The refusal is a 413 naming the field, the limit and the setting that sets it."""
    status, detail = _refusal(exc.value)
    assert status == 413, detail
    assert detail.startswith(f"{field} is "), detail
    assert f"AGENT_OPS_{setting}" in detail, detail
    return detail


async def test_thread_metadata_over_the_limit_is_a_413_and_nothing_is_stored(limited: str) -> None:
    client = get_client(url=limited)
    thread_id = str(uuid.uuid4())
    with pytest.raises(REFUSED) as exc:
        await client.threads.create(thread_id=thread_id, metadata={"blob": _blob(METADATA_BYTES)})
    detail = _too_large(exc, "metadata", "MAX_METADATA_BYTES")
    assert f"limit of {METADATA_BYTES:,} bytes" in detail
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id)
    # Just under the limit is accepted, so the limit is the one named.
    fits = await client.threads.create(metadata={"blob": _blob(METADATA_BYTES - 100)})
    assert len(fits["metadata"]["blob"]) == METADATA_BYTES - 100


async def test_patching_thread_metadata_past_the_limit_is_refused_and_keeps_the_old(
    limited: str,
) -> None:
    client = get_client(url=limited)
    thread = await client.threads.create(metadata={"a": _blob(600)})
    # Each patch fits alone; merged they do not, so metadata cannot grow past the limit by parts.
    with pytest.raises(REFUSED) as exc:
        await client.threads.update(thread["thread_id"], metadata={"b": _blob(600)})
    _too_large(exc, "metadata (merged)", "MAX_METADATA_BYTES")
    after = await client.threads.get(thread["thread_id"])
    assert set(after["metadata"]) == {"a"}


async def test_assistant_metadata_over_the_limit_is_a_413(limited: str) -> None:
    client = get_client(url=limited)
    assistant_id = str(uuid.uuid4())
    with pytest.raises(REFUSED) as exc:
        await client.assistants.create(
            "echo", assistant_id=assistant_id, metadata={"blob": _blob(METADATA_BYTES)}
        )
    _too_large(exc, "metadata", "MAX_METADATA_BYTES")
    with pytest.raises(NotFoundError):
        await client.assistants.get(assistant_id)
    made = await client.assistants.create("echo", metadata={"small": "yes"})
    with pytest.raises(REFUSED) as exc:
        await client.assistants.update(
            made["assistant_id"], metadata={"blob": _blob(METADATA_BYTES)}
        )
    _too_large(exc, "metadata", "MAX_METADATA_BYTES")
    assert (await client.assistants.get(made["assistant_id"]))["metadata"] == {"small": "yes"}
    # An update merges metadata, so the merged result is what must fit.
    await client.assistants.update(made["assistant_id"], metadata={"a": _blob(600)})
    with pytest.raises(REFUSED) as exc:
        await client.assistants.update(made["assistant_id"], metadata={"b": _blob(600)})
    _too_large(exc, "metadata (merged)", "MAX_METADATA_BYTES")
    assert set((await client.assistants.get(made["assistant_id"]))["metadata"]) == {"small", "a"}


async def test_run_input_command_and_metadata_over_their_limits_queue_nothing(
    limited: str,
) -> None:
    client = get_client(url=limited)
    thread = await client.threads.create()
    big_input = {"messages": [{"role": "user", "content": _blob(INPUT_BYTES)}]}
    with pytest.raises(REFUSED) as exc:
        await client.runs.create(thread["thread_id"], "echo", input=big_input)
    _too_large(exc, "input", "MAX_INPUT_BYTES")
    with pytest.raises(REFUSED) as exc:
        await client.runs.create(
            thread["thread_id"], "echo", input=HI, metadata={"blob": _blob(METADATA_BYTES)}
        )
    _too_large(exc, "metadata", "MAX_METADATA_BYTES")
    with pytest.raises(REFUSED) as exc:
        await client.runs.create(
            thread["thread_id"], "echo", command={"resume": _blob(INPUT_BYTES)}
        )
    _too_large(exc, "command", "MAX_INPUT_BYTES")
    with pytest.raises(REFUSED) as exc:
        await client.runs.wait(None, "echo", input=big_input)
    _too_large(exc, "input", "MAX_INPUT_BYTES")
    assert await client.runs.list(thread["thread_id"]) == []
    # A batch with one oversized item refuses the whole batch.
    async with httpx.AsyncClient(base_url=limited) as http:
        good = {"assistant_id": "echo", "input": HI}
        bad = {"assistant_id": "echo", "input": big_input}
        response = await http.post("/runs/batch", json=[good, bad])
    assert response.status_code == 413
    assert response.json()["detail"].startswith("batch item 1: input is ")
    # A run within the limits still goes through: the thread's only run.
    await client.runs.wait(thread["thread_id"], "echo", input=HI)
    runs = await client.runs.list(thread["thread_id"])
    assert [run["status"] for run in runs] == ["success"]


async def test_cron_input_and_metadata_over_their_limits_are_413(limited: str) -> None:
    client = get_client(url=limited)
    thread = await client.threads.create()
    with pytest.raises(REFUSED) as exc:
        await client.crons.create_for_thread(
            thread["thread_id"],
            "echo",
            schedule="0 0 * * *",
            input={"messages": [{"role": "user", "content": _blob(INPUT_BYTES)}]},
        )
    _too_large(exc, "input", "MAX_INPUT_BYTES")
    with pytest.raises(REFUSED) as exc:
        await client.crons.create(
            "echo", schedule="0 0 * * *", input=HI, metadata={"blob": _blob(METADATA_BYTES)}
        )
    _too_large(exc, "metadata", "MAX_METADATA_BYTES")
    assert await client.crons.search(thread_id=thread["thread_id"]) == []
    cron = await client.crons.create_for_thread(
        thread["thread_id"], "echo", schedule="0 0 * * *", input=HI, metadata={"a": _blob(600)}
    )
    async with httpx.AsyncClient(base_url=limited) as http:
        patched = await http.patch(
            f"/runs/crons/{cron['cron_id']}", json={"metadata": {"b": _blob(600)}}
        )
    assert patched.status_code == 413, patched.text
    assert patched.json()["detail"].startswith("metadata (merged) is ")
    [kept] = await client.crons.search(thread_id=thread["thread_id"])
    assert set(kept["metadata"]) == {"a"}


async def test_store_value_over_the_limit_is_a_413_and_not_stored(limited: str) -> None:
    client = get_client(url=limited)
    namespace = ["limits", uuid.uuid4().hex]
    with pytest.raises(REFUSED) as exc:
        await client.store.put_item(
            namespace, "big", {"text": _blob(STORE_VALUE_BYTES)}, index=False
        )
    _too_large(exc, "value", "MAX_STORE_VALUE_BYTES")
    assert await client.store.get_item(namespace, "big") is None
    await client.store.put_item(namespace, "small", {"text": "fits"}, index=False)
    assert (await client.store.get_item(namespace, "small"))["value"] == {"text": "fits"}


async def test_state_update_values_over_the_limit_are_a_413_and_leave_the_state(
    limited: str,
) -> None:
    client = get_client(url=limited)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "echo", input=HI)
    before = await client.threads.get_state(thread["thread_id"])
    big = {"messages": [{"role": "user", "content": _blob(INPUT_BYTES)}]}
    with pytest.raises(REFUSED) as exc:
        await client.threads.update_state(thread["thread_id"], big)
    _too_large(exc, "values", "MAX_INPUT_BYTES")
    after = await client.threads.get_state(thread["thread_id"])
    assert after["checkpoint"] == before["checkpoint"]
    assert after["values"] == before["values"]


async def _open_thread_stream(
    http: httpx.AsyncClient, stack: AsyncExitStack, thread_id: str
) -> httpx.Response:
    response = await stack.enter_async_context(http.stream("GET", f"/threads/{thread_id}/stream"))
    return response


async def _stream_run(client: LangGraphClient, thread_id: str) -> list[str]:
    """The events of one streamed run, retried while the caller's slots are still freeing."""
    for _ in range(50):
        try:
            return [part.event async for part in client.runs.stream(thread_id, "echo", input=HI)]
        except RateLimitError:
            await asyncio.sleep(0.1)
    raise AssertionError("no stream slot was freed within 5 s")


async def test_streams_over_the_cap_are_a_429_until_one_closes(limited: str) -> None:
    client = get_client(url=limited)
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    other = await client.threads.create()
    done = await client.runs.create(other["thread_id"], "echo", input=HI)
    await client.runs.join(other["thread_id"], done["run_id"])
    async with httpx.AsyncClient(base_url=limited, timeout=30) as http:
        first = AsyncExitStack()
        async with AsyncExitStack() as held:
            opened = [await _open_thread_stream(http, held, thread_id)]
            opened.append(await _open_thread_stream(http, first, thread_id))
            assert [r.status_code for r in opened] == [200] * STREAMS
            # Every kind of stream counts against the same caller.
            refused = [
                await http.get(f"/threads/{thread_id}/stream"),
                await http.post(
                    f"/threads/{thread_id}/runs/stream", json={"assistant_id": "echo", "input": HI}
                ),
                await http.post("/runs/stream", json={"assistant_id": "echo", "input": HI}),
                await http.get(f"/threads/{other['thread_id']}/runs/{done['run_id']}/stream"),
            ]
            for response in refused:
                assert response.status_code == 429, response.text
                assert response.headers["retry-after"].isdigit()
                detail = response.json()["detail"]
                assert f"AGENT_OPS_MAX_STREAMS_PER_CALLER={STREAMS}" in detail, detail
                assert "client 127.0.0.1" in detail, detail
            # A refused run stream queued nothing.
            assert await client.runs.list(thread_id) == []
            # Closing one stream frees its slot (the server notices the disconnect).
            await first.aclose()
            closed_at = time.monotonic()
            for _ in range(50):
                async with http.stream("GET", f"/threads/{thread_id}/stream") as again:
                    if again.status_code == 200:
                        break
                await asyncio.sleep(0.1)
            assert again.status_code == 200
            print(f"slot freed {time.monotonic() - closed_at:.2f} s after the close")
        # Both closed: streams run to their end again, more of them than the cap, one by one
        # (a slot is freed as the server sees the request end, a moment after the client).
        for _ in range(STREAMS + 1):
            events = await _stream_run(client, thread_id)
            assert events[0] == "metadata"
            assert events[-1] == "values"
        runs = await client.runs.list(thread_id)
        assert [run["status"] for run in runs] == ["success"] * (STREAMS + 1)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentOpsProcess]:
    env = {"AGENT_OPS_WORKERS": "1", **KEYS_AUTH, "AGENT_OPS_MAX_STREAMS_PER_CALLER": "1"}
    with serving(new_server(tmp_path_factory, "limits-keys", env)) as server:
        yield server


async def test_with_auth_on_streams_count_per_identity_not_per_address(
    keyed: AgentOpsProcess,
) -> None:
    first = create_key(keyed, "acme", "operator")["key"]
    second = create_key(keyed, "acme", "operator")["key"]
    assert keyed.url is not None
    async with httpx.AsyncClient(base_url=keyed.url, timeout=30) as http:
        as_first = {"Authorization": f"Bearer {first}"}
        as_second = {"Authorization": f"Bearer {second}"}
        thread = (await http.post("/threads", json={}, headers=as_first)).json()
        path = f"/threads/{thread['thread_id']}/stream"
        async with http.stream("GET", path, headers=as_first) as held:
            assert held.status_code == 200
            refused = await http.get(path, headers=as_first)
            assert refused.status_code == 429
            detail = refused.json()["detail"]
            assert "caller 'key:" in detail and "tenant 'acme'" in detail, detail
            assert "AGENT_OPS_MAX_STREAMS_PER_CALLER=1" in detail, detail
            # The same address, another identity: its own slots.
            async with http.stream("GET", path, headers=as_second) as other:
                assert other.status_code == 200
