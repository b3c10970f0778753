"""A LangGraph app's `@auth.on` authorization handlers, applied as LangGraph's server applies
them: the owner-scoped threads of LangGraph's own docs, a store namespace rule, a refused
action, and a `$contains` sharing rule; over HTTP through langgraph-sdk, on both backends."""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.governance.conftest import (
    BACKENDS,
    handler_config,
    one_error_line,
    serve_once,
    start,
)
from tests.servers import TEST_GRAPHS, AgentOpsProcess

# Written as LangGraph's docs write one ("Custom auth", "Resource-specific handlers").
OWNER_AUTH = """
from langgraph_sdk import Auth

auth = Auth()

TOKENS = {"t-alice": "alice", "t-bob": "bob"}


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    token = (authorization or "").removeprefix("Bearer ").strip()
    if token not in TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="unknown token")
    return {"identity": TOKENS[token], "permissions": ["threads:write"]}


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict):
    metadata = value.setdefault("metadata", {})
    metadata["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}


@auth.on.store()
async def own_namespace(ctx: Auth.types.AuthContext, value: dict):
    namespace = tuple(value["namespace"]) if value.get("namespace") else ()
    if not namespace or namespace[0] != ctx.user.identity:
        namespace = (ctx.user.identity, *namespace)
    value["namespace"] = namespace


@auth.on.assistants.create
async def no_new_assistants(ctx: Auth.types.AuthContext, value: dict):
    return False
"""

# Threads readable by everyone their creator shares them with (a `$contains` filter).
SHARING_AUTH = """
from langgraph_sdk import Auth

auth = Auth()

TOKENS = {"t-alice": "alice", "t-bob": "bob", "t-carol": "carol"}


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    token = (authorization or "").removeprefix("Bearer ").strip()
    if token not in TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="unknown token")
    return TOKENS[token]


@auth.on.threads
async def readers(ctx: Auth.types.AuthContext, value: dict):
    if ctx.action == "create":
        metadata = value.setdefault("metadata", {})
        metadata["readers"] = [ctx.user.identity, *metadata.pop("share_with", [])]
    return {"readers": {"$contains": ctx.user.identity}}
"""


def app_config(folder: Path, handler: str) -> Path:
    """The governance suite's handler config, serving `echo` beside `approve`."""
    config = handler_config(folder, handler)
    app = json.loads(config.read_text())
    app["graphs"]["echo"] = f"{TEST_GRAPHS.parent}/graphs.py:echo"
    config.write_text(json.dumps(app))
    return config


def _server(
    request: pytest.FixtureRequest, factory: pytest.TempPathFactory, name: str, handler: str
) -> AgentOpsProcess:
    config = app_config(factory.mktemp(f"{name}-app-{request.param}"), handler)
    # The app's handlers decide, as on LangGraph's server: its users hold every role here.
    return start(request, factory, name, {"AGENT_OPS_AUTH_HANDLER_ROLE": "admin"}, config=config)


@pytest.fixture(scope="session", params=BACKENDS)
def owner_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    return _server(request, tmp_path_factory, "auth-on-owner", OWNER_AUTH)


@pytest.fixture(scope="session", params=BACKENDS)
def sharing_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    return _server(request, tmp_path_factory, "auth-on-sharing", SHARING_AUTH)


def client(server: AgentOpsProcess, token: str) -> LangGraphClient:
    assert server.url is not None
    return get_client(url=server.url, headers={"Authorization": f"Bearer {token}"})


async def status_of(call: Awaitable[Any]) -> int:
    """The HTTP status a call was refused with."""
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await call
    return caught.value.response.status_code


async def stream_status(events: Any) -> int:
    """The HTTP status a stream was refused with (the sdk opens some with an await first)."""
    with pytest.raises(httpx.HTTPStatusError) as caught:
        async for _ in await events if inspect.isawaitable(events) else events:
            pass
    return caught.value.response.status_code


MESSAGES = {"messages": [{"role": "user", "content": "hi"}]}


async def test_another_users_thread_is_missing_in_every_route(
    owner_server: AgentOpsProcess,
) -> None:
    alice, bob = client(owner_server, "t-alice"), client(owner_server, "t-bob")
    thread = await alice.threads.create(metadata={"topic": "q4"})
    tid = thread["thread_id"]
    assert thread["metadata"]["owner"] == "alice"  # the handler's change is what is stored
    run = await alice.runs.create(tid, "echo", input=MESSAGES)
    await alice.runs.join(tid, run["run_id"])
    stored = (await alice.threads.get(tid))["metadata"]
    assert (stored["topic"], stored["owner"], stored["graph_id"]) == ("q4", "alice", "echo")
    rid = run["run_id"]
    refused = [
        await status_of(bob.threads.get(tid)),
        await status_of(bob.threads.get_state(tid)),
        await status_of(bob.threads.get_history(tid)),
        await status_of(bob.threads.update(tid, metadata={"owner": "bob"})),
        await status_of(bob.threads.update_state(tid, {"messages": []})),
        await status_of(bob.threads.copy(tid)),
        await status_of(bob.threads.delete(tid)),
        await status_of(bob.runs.list(tid)),
        await status_of(bob.runs.get(tid, rid)),
        await status_of(bob.runs.join(tid, rid)),
        await status_of(bob.runs.cancel(tid, rid)),
        await status_of(bob.runs.delete(tid, rid)),
        await status_of(bob.runs.create(tid, "echo", input=MESSAGES)),
        await status_of(bob.runs.wait(tid, "echo", input=MESSAGES)),
        await stream_status(bob.runs.stream(tid, "echo", input=MESSAGES)),
        await stream_status(bob.runs.join_stream(tid, rid)),
        await stream_status(bob.threads.join_stream(tid)),
        await status_of(bob.crons.create_for_thread(tid, "echo", schedule="0 0 1 1 *")),
    ]
    assert refused == [404] * len(refused)
    # Nothing bob tried changed alice's thread, and it is still hers to read and run.
    assert (await alice.threads.get(tid))["metadata"]["owner"] == "alice"
    assert len(await alice.runs.list(tid)) == 1
    done = await alice.runs.wait(tid, "echo", input=MESSAGES)
    assert done["messages"]


async def test_search_and_count_hold_only_the_callers_threads(
    owner_server: AgentOpsProcess,
) -> None:
    alice, bob = client(owner_server, "t-alice"), client(owner_server, "t-bob")
    mine = {(await bob.threads.create(metadata={"batch": "s1"}))["thread_id"] for _ in range(2)}
    theirs = (await alice.threads.create(metadata={"batch": "s1"}))["thread_id"]
    found = await bob.threads.search(metadata={"batch": "s1"}, limit=50)
    assert {t["thread_id"] for t in found} == mine
    assert await bob.threads.count(metadata={"batch": "s1"}) == 2
    assert await alice.threads.count(metadata={"batch": "s1"}) == 1
    # Asking for alice's threads by her name finds none; so does naming her thread's id.
    assert await bob.threads.search(metadata={"owner": "alice"}) == []
    assert await bob.threads.count(metadata={"owner": "alice"}) == 0
    assert await bob.threads.search(ids=[theirs]) == []


async def test_a_thread_a_run_creates_belongs_to_its_creator(
    owner_server: AgentOpsProcess,
) -> None:
    alice, bob = client(owner_server, "t-alice"), client(owner_server, "t-bob")
    tid = str(uuid.uuid4())
    await alice.runs.wait(tid, "echo", input=MESSAGES, if_not_exists="create")
    assert (await alice.threads.get(tid))["metadata"]["owner"] == "alice"
    assert await status_of(bob.threads.get(tid)) == 404


async def test_another_users_cron_is_missing_and_unsearchable(
    owner_server: AgentOpsProcess,
) -> None:
    alice, bob = client(owner_server, "t-alice"), client(owner_server, "t-bob")
    cron = await alice.crons.create("echo", schedule="0 0 1 1 *", input=MESSAGES)
    cid = cron["cron_id"]
    assert cid in {c["cron_id"] for c in await alice.crons.search(limit=100)}
    assert cid not in {c["cron_id"] for c in await bob.crons.search(limit=100)}
    assert await bob.crons.count() == 0 < await alice.crons.count()
    assert await status_of(bob.crons.delete(cid)) == 404
    assert cid in {c["cron_id"] for c in await alice.crons.search(limit=100)}


async def test_waiting_approvals_list_only_the_callers_threads(
    owner_server: AgentOpsProcess,
) -> None:
    alice = client(owner_server, "t-alice")
    tid = (await alice.threads.create())["thread_id"]
    await alice.runs.wait(tid, "approve", input=MESSAGES)  # waits for a decision
    waiting = {}
    for token in ("t-alice", "t-bob"):
        async with httpx.AsyncClient(base_url=owner_server.url or "") as http:
            answer = await http.get("/approvals", headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        waiting[token] = {p["thread_id"] for p in answer.json()}
    assert tid in waiting["t-alice"] and tid not in waiting["t-bob"]


async def test_action_a_handler_refuses_is_403_naming_it(owner_server: AgentOpsProcess) -> None:
    alice = client(owner_server, "t-alice")
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await alice.assistants.create("echo", name="mine")
    assert caught.value.response.status_code == 403
    detail = caught.value.response.json()["detail"]
    assert "assistants.create" in detail and "no_new_assistants" in detail
    assert "./auth.py:auth" in detail
    async with httpx.AsyncClient(base_url=owner_server.url or "") as http:
        trail = await http.get(
            "/audit",
            params={"action": "auth.forbidden", "actor": "alice", "limit": 500},
            headers={"Authorization": "Bearer t-alice"},
        )
    refusals = [r for r in trail.json()["records"] if r["resource_type"] == "assistant"]
    assert refusals and refusals[-1]["outcome"] == "denied"
    assert "no_new_assistants" in refusals[-1]["detail"]["reason"]
    assert await alice.assistants.search(metadata={"owner": "alice"}) == []


async def test_store_namespace_rewritten_per_user(owner_server: AgentOpsProcess) -> None:
    alice, bob = client(owner_server, "t-alice"), client(owner_server, "t-bob")
    await alice.store.put_item(["notes"], "plan", {"text": "alice's plan"})
    await bob.store.put_item(["notes"], "plan", {"text": "bob's plan"})
    item = await alice.store.get_item(["notes"], "plan")
    assert item["value"] == {"text": "alice's plan"}
    assert item["namespace"] == ["alice", "notes"]  # where the handler put it
    assert (await bob.store.get_item(["notes"], "plan"))["value"] == {"text": "bob's plan"}
    # Naming alice's real namespace does not reach it either: bob's is prefixed again.
    assert await bob.store.get_item(["alice", "notes"], "plan") is None
    found = await bob.store.search_items(["notes"])
    assert [i["value"]["text"] for i in found["items"]] == ["bob's plan"]
    spaces = await bob.store.list_namespaces()
    assert spaces["namespaces"] == [["bob", "notes"]]
    await bob.store.delete_item(["notes"], "plan")
    assert (await alice.store.get_item(["notes"], "plan"))["value"] == {"text": "alice's plan"}


async def test_contains_filter_shares_a_thread_with_its_readers(
    sharing_server: AgentOpsProcess,
) -> None:
    alice = client(sharing_server, "t-alice")
    bob, carol = client(sharing_server, "t-bob"), client(sharing_server, "t-carol")
    shared = await alice.threads.create(metadata={"share_with": ["carol"], "kind": "memo"})
    assert shared["metadata"] == {"readers": ["alice", "carol"], "kind": "memo"}
    tid = shared["thread_id"]
    private = (await alice.threads.create(metadata={"kind": "memo"}))["thread_id"]
    assert (await carol.threads.get(tid))["thread_id"] == tid
    assert [t["thread_id"] for t in await carol.threads.search(metadata={"kind": "memo"})] == [tid]
    assert await carol.threads.count(metadata={"kind": "memo"}) == 1
    assert await alice.threads.count(metadata={"kind": "memo"}) == 2
    assert await status_of(carol.threads.get(private)) == 404
    assert await status_of(bob.threads.get(tid)) == 404
    assert await bob.threads.search(metadata={"kind": "memo"}) == []
    assert await bob.threads.count(metadata={"kind": "memo"}) == 0


def test_handler_for_what_agent_ops_does_not_ask_stops_startup(tmp_path: Path) -> None:
    handler = (
        "from langgraph_sdk import Auth\nauth = Auth()\n"
        "@auth.authenticate\nasync def who(authorization):\n    return 'x'\n"
        "@auth.on(resources='widgets', actions='read')\nasync def w(ctx, value):\n    return True\n"
    )
    line = one_error_line(serve_once(tmp_path, config=app_config(tmp_path, handler)))
    assert "@auth.on handlers for widgets.read" in line
