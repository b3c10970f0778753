"""The audit trail through a real server with API keys, on both backends: what each governed
action records, who may read it, and `agent-ops audit verify|export` on a tampered chain."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk import get_client

from tests.governance.conftest import KEYS_AUTH, create_key, server_cli
from tests.servers import AgentOpsProcess


def _url(server: AgentOpsProcess) -> str:
    assert server.url is not None
    return server.url


def _tenant() -> str:
    """A tenant of its own per test: each tenant is its own chain, so tests do not meet."""
    return f"t{uuid.uuid4().hex[:10]}"


def audit_cli(server: AgentOpsProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `agent-ops audit ...` on the server's database."""
    return server_cli(server, "audit", *args)


def exported(server: AgentOpsProcess, tenant: str, *extra: str) -> list[dict[str, Any]]:
    done = audit_cli(server, "export", "--tenant", tenant, *extra)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


async def read_audit(server: AgentOpsProcess, key: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=_url(server)) as http:
        return await http.get("/audit", params=params, headers={"x-api-key": key})


async def test_approval_story_is_recorded_with_approver_decision_and_interrupt(
    keys_server: AgentOpsProcess,
) -> None:
    tenant = _tenant()
    operator_key = create_key(keys_server, tenant, "operator", "--name", "clerk")
    approver_key = create_key(keys_server, tenant, "approver", "--name", "maria")
    operator = get_client(url=_url(keys_server), api_key=operator_key["key"])
    approver = get_client(url=_url(keys_server), api_key=approver_key["key"])
    thread = await operator.threads.create(metadata={"invoice": "INV-7"})
    tid = thread["thread_id"]
    paused = await operator.runs.wait(tid, "approve", input={"messages": []})
    interrupt_id = paused["__interrupt__"][0]["id"]
    answer = {"type": "accept", "by": "mallory"}
    await approver.runs.wait(tid, "approve", command={"resume": answer})

    page = (await read_audit(keys_server, approver_key["key"], limit=100)).json()
    story = [
        (r["action"], r["actor"], r["actor_role"], r["outcome"])
        for r in page["records"]
        if r["resource_id"] == tid or r["detail"].get("thread_id") == tid
    ]
    op, ap = f"key:{operator_key['key_id']}", f"key:{approver_key['key_id']}"
    assert story == [
        ("thread.create", op, "operator", "ok"),
        ("run.create", op, "operator", "ok"),
        ("run.interrupted", "system", None, "ok"),  # the worker's record of the pause
        ("run.resume", ap, "approver", "ok"),
        ("run.success", "system", None, "ok"),
    ]
    resume = next(r for r in page["records"] if r["action"] == "run.resume")
    assert resume["tenant"] == tenant and resume["resource_type"] == "run"
    assert resume["detail"]["decision"] == "accept"
    assert resume["detail"]["interrupts"] == [interrupt_id]
    assert resume["detail"]["request"] == "POST /threads/{thread_id}/runs/wait"
    created = next(r for r in page["records"] if r["action"] == "thread.create")
    digest = hashlib.sha256(b'{"invoice":"INV-7"}').hexdigest()
    assert created["digest"] == digest  # the payload's canonical JSON, hashed
    # Chained: each record names the hash of the one before it in the tenant's chain.
    seqs = [r["seq"] for r in page["records"]]
    assert seqs == list(range(1, len(seqs) + 1))
    for before, after in zip(page["records"], page["records"][1:], strict=False):
        assert after["prev_hash"] == before["hash"]


async def test_thread_changes_and_run_cancel_and_delete_are_recorded(
    keys_server: AgentOpsProcess,
) -> None:
    tenant = _tenant()
    approver_key = create_key(keys_server, tenant, "approver")
    client = get_client(url=_url(keys_server), api_key=approver_key["key"])
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "approve", input={"messages": []})
    await client.threads.update_state(tid, {"messages": []}, as_node="ask")
    run = await client.runs.create(tid, "echo", input={"messages": []}, after_seconds=30)
    await client.runs.cancel(tid, run["run_id"])
    await client.runs.delete(tid, run["run_id"])
    await client.threads.update(tid, metadata={"checked": True})
    await client.threads.delete(tid)
    records = exported(keys_server, tenant)
    actions = [r["action"] for r in records if r["action"] != "key.create"]
    assert actions == [
        "thread.create",
        "run.create",
        "run.interrupted",
        "thread.update_state",
        "run.create",
        "run.cancel",
        "run.delete",
        "thread.update",
        "thread.delete",
    ]
    update = next(r for r in records if r["action"] == "thread.update_state")
    assert update["detail"]["as_node"] == "ask" and update["detail"]["checkpoint_id"]


async def test_refusals_are_recorded_as_denied(keys_server: AgentOpsProcess) -> None:
    tenant = _tenant()
    viewer_key = create_key(keys_server, tenant, "viewer")
    viewer = get_client(url=_url(keys_server), api_key=viewer_key["key"])
    with pytest.raises(httpx.HTTPStatusError):
        await viewer.threads.create()
    forbidden = [r for r in exported(keys_server, tenant) if r["action"] == "auth.forbidden"]
    assert len(forbidden) == 1
    assert forbidden[0]["actor"] == f"key:{viewer_key['key_id']}"
    assert forbidden[0]["outcome"] == "denied"
    assert "'operator'" in forbidden[0]["detail"]["reason"]
    # A key nobody issued: the tenant is unknown, so it lands in the default tenant's chain.
    forged = f"aok_{uuid.uuid4().hex[:16]}_" + "x" * 43
    with pytest.raises(httpx.HTTPStatusError):
        await get_client(url=_url(keys_server), api_key=forged).threads.search()
    failed = [r for r in exported(keys_server, "default") if r["action"] == "auth.failed"]
    assert any(forged[4:20] in r["detail"]["reason"] for r in failed)
    assert all(r["outcome"] == "denied" and r["actor"] == "anonymous" for r in failed)
    assert forged not in json.dumps(failed)  # never the key itself


async def test_audit_is_read_by_approvers_of_the_same_tenant_only(
    keys_server: AgentOpsProcess,
) -> None:
    tenant, other = _tenant(), _tenant()
    operator = create_key(keys_server, tenant, "operator")
    await get_client(url=_url(keys_server), api_key=operator["key"]).threads.create()
    refused = await read_audit(keys_server, operator["key"])
    assert refused.status_code == 403 and "'approver'" in refused.json()["detail"]
    outsider = create_key(keys_server, other, "admin")
    seen = (await read_audit(keys_server, outsider["key"], limit=500)).json()["records"]
    assert seen and {r["tenant"] for r in seen} == {other}


async def test_audit_pages_and_filters(keys_server: AgentOpsProcess) -> None:
    tenant = _tenant()
    admin = create_key(keys_server, tenant, "admin")
    client = get_client(url=_url(keys_server), api_key=admin["key"])
    made = [(await client.threads.create())["thread_id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"action": "thread.create", "limit": 2}
        if cursor:
            params["after"] = cursor
        page = (await read_audit(keys_server, admin["key"], **params)).json()
        assert len(page["records"]) <= 2
        seen += [r["resource_id"] for r in page["records"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == made
    one = await read_audit(keys_server, admin["key"], resource_type="thread", resource_id=made[2])
    assert [r["resource_id"] for r in one.json()["records"]] == [made[2]]
    by_actor = await read_audit(keys_server, admin["key"], actor=f"key:{admin['key_id']}")
    assert len(by_actor.json()["records"]) == 5
    bad = await read_audit(keys_server, admin["key"], after="nonsense")
    assert bad.status_code == 422 and "'nonsense'" in bad.json()["detail"]
    bad = await read_audit(keys_server, admin["key"], since="yesterday")
    assert bad.status_code == 422 and "'yesterday'" in bad.json()["detail"]


def test_key_create_and_revoke_are_recorded_with_the_cli_operator(
    keys_server: AgentOpsProcess,
) -> None:
    from tests.governance.conftest import keys_cli

    tenant = _tenant()
    key = create_key(keys_server, tenant, "viewer", "--name", "dash")
    assert keys_cli(keys_server, "revoke", key["key_id"]).returncode == 0
    records = exported(keys_server, tenant)
    assert [(r["action"], r["resource_id"], r["via"]) for r in records] == [
        ("key.create", key["key_id"], "cli"),
        ("key.revoke", key["key_id"], "cli"),
    ]
    assert records[0]["actor"].startswith("cli:") and records[0]["detail"]["role"] == "viewer"
    assert key["key"] not in json.dumps(records)
    since_future = exported(keys_server, tenant, "--since", "2999-01-01")
    assert since_future == []
    assert len(exported(keys_server, tenant, "--since", "1h")) == 2
    bad = audit_cli(keys_server, "export", "--since", "soon")
    assert bad.returncode == 2 and "--since 'soon'" in bad.stderr
    csv_out = audit_cli(keys_server, "export", "--tenant", tenant, "--format", "csv")
    assert csv_out.stdout.splitlines()[0].startswith("tenant_id,seq,at,actor")
    assert len(csv_out.stdout.splitlines()) == 3


def _tamper(server: AgentOpsProcess, tenant: str, seq: int) -> str:
    """Change one record's actor with SQL, around the append-only trigger; return the refusal
    the trigger gave first."""
    url = server.database_url
    if url.startswith("sqlite:///"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            with pytest.raises(sqlite3.DatabaseError) as refused:
                db.execute("UPDATE audit_log SET actor = 'x' WHERE tenant_id = ?", (tenant,))
            trigger = db.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_update'"
            ).fetchone()[0]
            db.execute("DROP TRIGGER audit_log_no_update")
            db.execute(
                "UPDATE audit_log SET actor = 'key:someone-else' WHERE tenant_id = ? AND seq = ?",
                (tenant, seq),
            )
            db.execute(trigger)
            db.commit()
        finally:
            db.close()
        return str(refused.value)
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException) as raised:
            conn.execute("UPDATE audit_log SET actor = 'x' WHERE tenant_id = %s", (tenant,))
        with conn.transaction():
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            conn.execute(
                "UPDATE audit_log SET actor = 'key:someone-else' WHERE tenant_id = %s AND seq = %s",
                (tenant, seq),
            )
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        return str(raised.value)


async def test_a_row_changed_with_sql_fails_verify_naming_it(keys_server: AgentOpsProcess) -> None:
    tenant = _tenant()
    key = create_key(keys_server, tenant, "operator")
    client = get_client(url=_url(keys_server), api_key=key["key"])
    for _ in range(3):
        await client.threads.create()
    before = audit_cli(keys_server, "verify", "--tenant", tenant)
    assert before.returncode == 0, before.stderr
    assert "intact: 4 records in 1 tenant chain(s)" in before.stdout
    refusal = _tamper(keys_server, tenant, 3)
    assert "append-only" in refusal
    after = audit_cli(keys_server, "verify", "--tenant", tenant)
    assert after.returncode == 1
    assert f"broken at tenant '{tenant}' record 3 (thread.create thread" in after.stderr
    assert "changed after it was written" in after.stderr
    # The whole trail (every tenant) fails as well, at the same record.
    everything = audit_cli(keys_server, "verify")
    assert everything.returncode == 1 and f"'{tenant}' record 3" in everything.stderr


async def test_concurrent_requests_keep_one_gapless_chain(keys_server: AgentOpsProcess) -> None:
    tenant = _tenant()
    key = create_key(keys_server, tenant, "operator")
    client = get_client(url=_url(keys_server), api_key=key["key"])
    await asyncio.gather(*(client.threads.create() for _ in range(40)))
    records = exported(keys_server, tenant)
    assert [r["seq"] for r in records] == list(range(1, 42))
    done = audit_cli(keys_server, "verify", "--tenant", tenant)
    assert done.returncode == 0, done.stderr


@pytest.mark.postgres
async def test_two_servers_writing_at_once_keep_one_gapless_chain_on_postgres(
    pg_cluster: Any, tmp_path: Any
) -> None:
    url = pg_cluster.create_database(f"audit_{uuid.uuid4().hex}")
    env = {**KEYS_AUTH, "AGENT_OPS_WORKERS": "1"}
    servers = [AgentOpsProcess(url, tmp_path, env=env, name=f"audit-{n}").start() for n in range(2)]
    try:
        tenant = _tenant()
        key = create_key(servers[0], tenant, "operator")
        clients = [get_client(url=_url(s), api_key=key["key"]) for s in servers]
        await asyncio.gather(*(clients[n % 2].threads.create() for n in range(60)))
        records = exported(servers[0], tenant)
        assert [r["seq"] for r in records] == list(range(1, 62))
        done = audit_cli(servers[1], "verify")
        assert done.returncode == 0, done.stderr
        assert "intact: 61 records" in done.stdout
    finally:
        for server in servers:
            server.stop()
