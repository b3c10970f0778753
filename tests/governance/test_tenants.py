"""Two tenants on one server, each with its own keys: neither sees or touches the other's
threads, runs, assistants or crons (404, as if missing), in every route, search, count and
stream; the registry's default assistants serve both."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.governance.conftest import create_key
from tests.servers import AgentOpsProcess


def _client(server: AgentOpsProcess, tenant: str, role: str) -> LangGraphClient:
    assert server.url is not None
    return get_client(url=server.url, api_key=create_key(server, tenant, role)["key"])


def _tenants(server: AgentOpsProcess, role: str) -> tuple[LangGraphClient, LangGraphClient]:
    """Clients of the two tenants, acme and globex, each with a key of `role`."""
    return _client(server, "acme", role), _client(server, "globex", role)


async def _missing(call: Awaitable[Any]) -> str:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await call
    assert caught.value.response.status_code == 404, caught.value.response.text
    detail: str = caught.value.response.json()["detail"]
    return detail


async def test_another_tenants_thread_and_runs_are_missing_everywhere(
    keys_server: AgentOpsProcess,
) -> None:
    acme, globex = _tenants(keys_server, "approver")
    mark = {"case": uuid.uuid4().hex}
    thread = await acme.threads.create(metadata=mark)
    tid = thread["thread_id"]
    paused = await acme.runs.wait(tid, "approve", input={"messages": []})
    assert "__interrupt__" in paused
    run = (await acme.runs.list(tid))[0]
    rid = run["run_id"]

    assert await _missing(globex.threads.get(tid)) == f"thread {tid} not found"
    assert await globex.threads.search(metadata=mark) == []
    assert await globex.threads.search(ids=[tid]) == []
    assert await globex.threads.count(metadata=mark) == 0
    await _missing(globex.threads.get_state(tid))
    await _missing(globex.threads.get_history(tid))
    await _missing(globex.threads.update(tid, metadata={"stolen": True}))
    await _missing(globex.runs.list(tid))
    await _missing(globex.runs.get(tid, rid))
    await _missing(globex.runs.join(tid, rid))
    await _missing(globex.runs.cancel(tid, rid))
    await _missing(globex.runs.wait(tid, "approve", command={"resume": {"type": "accept"}}))
    with pytest.raises(httpx.HTTPStatusError) as caught:
        async for _ in globex.runs.join_stream(tid, rid):
            pass
    assert caught.value.response.status_code == 404
    with pytest.raises(httpx.HTTPStatusError) as caught:
        async for _ in await globex.threads.join_stream(tid):
            pass
    assert caught.value.response.status_code == 404
    async with httpx.AsyncClient(base_url=str(keys_server.url)) as http:
        key = create_key(keys_server, "globex", "operator")["key"]
        cancel = await http.post(
            "/runs/cancel", json={"run_ids": [rid]}, headers={"X-Api-Key": key}
        )
    assert cancel.status_code == 404
    # Taking the id with if_exists=do_nothing does not hand the thread over.
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await globex.threads.create(thread_id=tid, if_exists="do_nothing")
    assert caught.value.response.status_code == 409

    # The owner still has it all, untouched.
    assert [t["thread_id"] for t in await acme.threads.search(metadata=mark)] == [tid]
    assert await acme.threads.count(metadata=mark) == 1
    assert (await acme.threads.get(tid))["status"] == "interrupted"
    done = await acme.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    assert "answer:" in done["messages"][-1]["content"]


async def test_runs_and_threads_made_by_a_run_belong_to_its_tenant(
    keys_server: AgentOpsProcess,
) -> None:
    acme, globex = _tenants(keys_server, "operator")
    tid = str(uuid.uuid4())
    await acme.runs.wait(tid, "echo", input={"messages": []}, if_not_exists="create")
    assert (await acme.threads.get(tid))["thread_id"] == tid
    await _missing(globex.threads.get(tid))
    # The same id cannot be borrowed by starting a run on it from the other tenant.
    await _missing(globex.runs.wait(tid, "echo", input={"messages": []}, if_not_exists="create"))


async def test_assistants_and_crons_are_per_tenant_and_defaults_are_shared(
    keys_server: AgentOpsProcess,
) -> None:
    acme, globex = _tenants(keys_server, "admin")
    name = f"acme-{uuid.uuid4().hex[:8]}"
    mine = await acme.assistants.create("echo", name=name)
    aid = mine["assistant_id"]
    await _missing(globex.assistants.get(aid))
    await _missing(globex.assistants.update(aid, metadata={"x": 1}))
    await _missing(globex.assistants.get_versions(aid))
    assert await globex.assistants.search(name=name) == []
    assert await globex.assistants.count(graph_id="echo") < await acme.assistants.count(
        graph_id="echo"
    )
    await _missing(globex.runs.wait(None, aid, input={"messages": []}))
    # The registry's default assistant of a graph serves both tenants, for reading and running.
    shared = await globex.assistants.get("echo")
    assert shared["metadata"]["created_by"] == "system"
    assert await globex.runs.wait(None, "echo", input={"messages": []}) is not None
    assert {a["assistant_id"] for a in await globex.assistants.search(graph_id="echo")} == {
        shared["assistant_id"]
    }
    await _missing(globex.assistants.update("echo", metadata={"hijacked": True}))

    cron = await acme.crons.create(aid, schedule="0 3 * * *")
    await _missing(globex.crons.delete(cron["cron_id"]))
    assert cron["cron_id"] not in {c["cron_id"] for c in await globex.crons.search()}
    assert cron["cron_id"] in {c["cron_id"] for c in await acme.crons.search(assistant_id=aid)}
    assert await globex.crons.count(assistant_id="echo") == 0
    await acme.crons.delete(cron["cron_id"])


async def test_store_items_are_per_tenant_for_the_api_and_for_graphs(
    keys_server: AgentOpsProcess,
) -> None:
    acme, globex = _tenants(keys_server, "operator")
    tag = uuid.uuid4().hex[:8]
    await globex.store.put_item(["notes", tag], "payroll", {"text": "globex payroll figures"})
    # acme's graph writes and searches its tenant's store, from an async and a sync node.
    done = await acme.runs.wait(
        None,
        "notes",
        input={"key": f"acme-{tag}", "text": "acme invoice approvals", "question": "payroll"},
    )
    assert done["recalled"] and all(k.startswith("acme-") for k in done["recalled"])
    assert all(k.startswith("acme-") for k in done["nearest"])
    assert (await acme.store.get_item(["notes"], f"acme-{tag}"))["value"] == {
        "text": "acme invoice approvals"
    }
    # a missing item is null (as on the LangGraph server), another tenant's too
    assert await globex.store.get_item(["notes"], f"acme-{tag}") is None
    assert await acme.store.get_item(["notes", tag], "payroll") is None
    assert (await acme.store.search_items(["notes", tag]))["items"] == []
    assert ["notes", tag] not in (await acme.store.list_namespaces(prefix=["notes"]))["namespaces"]
    # The same namespace and key are two items, one per tenant; deleting one leaves the other.
    await acme.store.put_item(["notes", tag], "payroll", {"text": "acme's own"})
    await acme.store.delete_item(["notes", tag], "payroll")
    kept = await globex.store.get_item(["notes", tag], "payroll")
    assert kept["value"] == {"text": "globex payroll figures"}


async def test_cron_search_by_metadata_finds_only_the_callers_tenants_and_pages_the_matches(
    keys_server: AgentOpsProcess,
) -> None:
    acme, globex = _tenants(keys_server, "admin")
    mark = {"case": uuid.uuid4().hex}
    # Crons that do not match come first, so a page taken before matching would miss these.
    others = [await acme.crons.create("echo", schedule="0 3 * * *") for _ in range(3)]
    ours = [await acme.crons.create("echo", schedule="0 3 * * *", metadata=mark) for _ in range(2)]
    theirs = await globex.crons.create("echo", schedule="0 3 * * *", metadata=mark)
    try:
        found = await acme.crons.search(
            metadata=mark, limit=2, sort_by="created_at", sort_order="asc"
        )
        assert {c["cron_id"] for c in found} == {c["cron_id"] for c in ours}
        seen = await globex.crons.search(metadata=mark, limit=100)
        assert [c["cron_id"] for c in seen] == [theirs["cron_id"]]
        assert await acme.crons.search(metadata={**mark, "other": 1}) == []
    finally:
        for cron in [*others, *ours]:
            await acme.crons.delete(cron["cron_id"])
        await globex.crons.delete(theirs["cron_id"])
