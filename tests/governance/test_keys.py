"""API keys through the official langgraph-sdk against a real server with AGENT_OPS_AUTH=keys."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from langgraph_sdk import get_client

from tests.governance.conftest import create_key, keys_cli
from tests.servers import AgentOpsProcess


def _url(server: AgentOpsProcess) -> str:
    assert server.url is not None
    return server.url


async def _status(call: object) -> tuple[int, str]:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await call  # type: ignore[misc]
    return caught.value.response.status_code, caught.value.response.json()["detail"]


async def test_request_without_a_key_is_401_naming_both_headers(
    keys_server: AgentOpsProcess,
) -> None:
    client = get_client(url=_url(keys_server))
    status, detail = await _status(client.threads.search())
    assert status == 401
    assert "X-Api-Key" in detail and "Authorization: Bearer" in detail


async def test_readiness_probe_stays_open_without_a_key(keys_server: AgentOpsProcess) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{_url(keys_server)}/ok")).json() == {"ok": True}


async def test_unknown_and_malformed_keys_are_401(keys_server: AgentOpsProcess) -> None:
    real = create_key(keys_server, "acme", "viewer")
    forged = real["key"][:-4] + ("AAAA" if not real["key"].endswith("AAAA") else "BBBB")
    for key in (forged, "not-a-key", "aok_0000000000000000_" + "x" * 43):
        status, detail = await _status(
            get_client(url=_url(keys_server), api_key=key).threads.search()
        )
        assert status == 401, detail
        assert real["key"][-20:] not in detail  # the secret part is never echoed


async def test_viewer_reads_but_creating_a_thread_is_403_naming_operator(
    keys_server: AgentOpsProcess,
) -> None:
    viewer = get_client(
        url=_url(keys_server), api_key=create_key(keys_server, "acme", "viewer")["key"]
    )
    assert isinstance(await viewer.threads.search(), list)
    status, detail = await _status(viewer.threads.create())
    assert status == 403
    assert "'operator'" in detail and "'viewer'" in detail


async def test_key_is_accepted_as_a_bearer_token_too(keys_server: AgentOpsProcess) -> None:
    key = create_key(keys_server, "acme", "operator")["key"]
    async with httpx.AsyncClient(base_url=_url(keys_server)) as http:
        made = await http.post("/threads", json={}, headers={"Authorization": f"Bearer {key}"})
    assert made.status_code == 200 and made.json()["thread_id"]


async def test_revoked_key_is_401_from_the_next_request(keys_server: AgentOpsProcess) -> None:
    created = create_key(keys_server, "acme", "operator", "--name", "ci")
    client = get_client(url=_url(keys_server), api_key=created["key"])
    await client.threads.create()
    revoked = keys_cli(keys_server, "revoke", created["key_id"])
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked_at"] is not None
    status, detail = await _status(client.threads.search())
    assert status == 401 and f"API key {created['key_id']} was revoked" in detail


async def test_expired_key_is_401_naming_when_it_expired(keys_server: AgentOpsProcess) -> None:
    created = create_key(keys_server, "acme", "admin", "--expires-in", "1s")
    assert created["expires_at"] is not None
    await asyncio.sleep(1.2)
    client = get_client(url=_url(keys_server), api_key=created["key"])
    status, detail = await _status(client.assistants.search())
    assert status == 401 and f"API key {created['key_id']} expired at" in detail


async def test_managing_assistants_and_crons_needs_admin(keys_server: AgentOpsProcess) -> None:
    operator = get_client(
        url=_url(keys_server), api_key=create_key(keys_server, "acme", "operator")["key"]
    )
    status, detail = await _status(operator.assistants.create("echo"))
    assert status == 403 and "'admin'" in detail
    status, _ = await _status(operator.crons.create("echo", schedule="0 0 * * *"))
    assert status == 403
    admin = get_client(
        url=_url(keys_server), api_key=create_key(keys_server, "acme", "admin")["key"]
    )
    made = await admin.assistants.create("echo", name="by-admin")
    assert made["name"] == "by-admin"


async def test_resume_needs_approver_and_records_the_caller_not_the_payload(
    keys_server: AgentOpsProcess,
) -> None:
    operator = get_client(
        url=_url(keys_server), api_key=create_key(keys_server, "acme", "operator")["key"]
    )
    approver_key = create_key(keys_server, "acme", "approver", "--name", "maria")
    approver = get_client(url=_url(keys_server), api_key=approver_key["key"])
    thread = await operator.threads.create()
    tid = thread["thread_id"]
    paused = await operator.runs.wait(tid, "approve", input={"messages": []})
    assert paused["__interrupt__"][0]["value"] == {"question": "approve?"}
    answer = {"type": "accept", "by": "mallory"}
    status, detail = await _status(operator.runs.wait(tid, "approve", command={"resume": answer}))
    assert status == 403 and "'approver'" in detail
    status, _ = await _status(operator.threads.update_state(tid, {"messages": []}))
    assert status == 403  # writing state could answer the interrupt as well
    done = await approver.runs.wait(tid, "approve", command={"resume": answer})
    said = done["messages"][-1]["content"]
    assert f"'by': 'key:{approver_key['key_id']}'" in said and "mallory" not in said


def test_keys_list_shows_each_key_without_its_secret(keys_server: AgentOpsProcess) -> None:
    created = create_key(keys_server, "globex", "viewer", "--name", "dashboard")
    listed = keys_cli(keys_server, "list")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    mine = [r for r in rows if r["key_id"] == created["key_id"]]
    assert mine == [
        {
            "key_id": created["key_id"],
            "name": "dashboard",
            "tenant": "globex",
            "role": "viewer",
            "created_at": created["created_at"],
            "expires_at": None,
            "revoked_at": None,
        }
    ]
    assert created["key"] not in listed.stdout


def test_keys_cli_refuses_bad_input_with_one_line_naming_the_value(
    keys_server: AgentOpsProcess,
) -> None:
    bad_role = keys_cli(keys_server, "create", "--tenant", "acme", "--role", "owner")
    assert bad_role.returncode == 2 and "role 'owner' is not one of" in bad_role.stderr
    bad_time = keys_cli(
        keys_server, "create", "--tenant", "acme", "--role", "viewer", "--expires-in", "soon"
    )
    assert bad_time.returncode == 2 and "duration 'soon'" in bad_time.stderr
    unknown = keys_cli(keys_server, "revoke", "feedfacefeedface")
    assert unknown.returncode == 2 and "'feedfacefeedface' does not exist" in unknown.stderr
    assert bad_role.stdout == bad_time.stdout == unknown.stdout == ""


async def test_console_pages_open_without_a_key_while_their_data_needs_one(
    keys_server: AgentOpsProcess,
) -> None:
    async with httpx.AsyncClient(base_url=_url(keys_server)) as http:
        page = await http.get("/console")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert (await http.get("/console/static/api.js")).status_code == 200
        # The shell holds no data: what the page shows, it asks the API for, with a key.
        search = await http.post("/threads/search", json={"status": "interrupted"})
        assert search.status_code == 401
        approver = create_key(keys_server, "acme", "approver")["key"]
        signed_in = await http.post(
            "/threads/search", json={"status": "interrupted"}, headers={"x-api-key": approver}
        )
        assert signed_in.status_code == 200
