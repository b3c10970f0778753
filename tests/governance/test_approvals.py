"""Approval policy through a real server with API keys, on both backends: four-eyes (who started
or edited a thread may not approve it) and two distinct approvers above an amount."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from tests.governance.conftest import (
    BACKENDS,
    KEYS_AUTH,
    create_key,
    refusal,
    start,
    tenant_clients,
)
from tests.governance.test_audit import exported
from tests.servers import TEST_GRAPHS, AgentOpsProcess

PAY = """
from typing import Any, TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt


class Payment(TypedDict, total=False):
    total: float
    answer: Any


def ask(state: Payment) -> dict[str, Any]:
    return {"answer": interrupt({"action": "pay", "args": {"total": state["total"]}})}


_pay = StateGraph(Payment)
_pay.add_node("ask", ask)
_pay.add_edge(START, "ask")
pay = _pay.compile()
"""


def _config(folder: Path) -> Path:
    (folder / "pay.py").write_text(PAY)
    graphs = TEST_GRAPHS.parent
    config = folder / "langgraph.json"
    config.write_text(
        json.dumps(
            {
                "dependencies": [str(graphs), "."],
                "graphs": {"approve": f"{graphs}/graphs.py:approve", "pay": "./pay.py:pay"},
            }
        )
    )
    return config


@pytest.fixture(scope="session", params=BACKENDS)
def policy_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    env = {
        **KEYS_AUTH,
        "AGENT_OPS_APPROVAL_FOUR_EYES": "approve",
        "AGENT_OPS_APPROVAL_TWO_APPROVERS_ABOVE": "1000",
    }
    config = _config(tmp_path_factory.mktemp(f"policy-app-{request.param}"))
    return start(request, tmp_path_factory, "policy", env, config=config)


async def test_whoever_started_the_run_cannot_approve_it(policy_server: AgentOpsProcess) -> None:
    tenant, (maria, john), (maria_id, john_id) = tenant_clients(
        policy_server, "approver", "approver"
    )
    tid = (await maria.threads.create())["thread_id"]
    await maria.runs.wait(tid, "approve", input={"messages": []})
    detail = await refusal(maria.runs.wait(tid, "approve", command={"resume": {"type": "accept"}}))
    assert "four-eyes rule" in detail and "AGENT_OPS_APPROVAL_FOUR_EYES" in detail
    assert f"{maria_id!r} owns thread {tid}" in detail
    done = await john.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    assert f"'by': '{john_id}'" in done["messages"][-1]["content"]
    records = exported(policy_server, tenant)
    refused = [r for r in records if r["action"] == "approval.refused"]
    assert [(r["actor"], r["outcome"]) for r in refused] == [(maria_id, "denied")]
    resume = next(r for r in records if r["action"] == "run.resume")
    assert resume["actor"] == john_id and resume["detail"]["policy"] == ["four-eyes"]


async def test_whoever_edited_the_state_cannot_approve_it(policy_server: AgentOpsProcess) -> None:
    _, (clerk, editor, other, rejecter), (_, editor_id, _, _) = tenant_clients(
        policy_server, "operator", "approver", "approver", "approver"
    )
    tid = (await clerk.threads.create())["thread_id"]
    await clerk.runs.wait(tid, "approve", input={"messages": []})
    # While it waits, a state update could answer the interrupt around the rules: refused.
    detail = await refusal(editor.threads.update_state(tid, {"messages": []}, as_node="ask"))
    assert f"approval policy (four-eyes) governs the interrupt of thread {tid}" in detail
    # A rejection is not an approval: the rules never stop someone from stopping a payment.
    done = await rejecter.runs.wait(tid, "approve", command={"resume": {"type": "ignore"}})
    assert "'type': 'ignore'" in done["messages"][-1]["content"]
    # The editor corrects the state, the clerk runs it to the pause again.
    await editor.threads.update_state(tid, {"messages": [{"role": "user", "content": "x"}]})
    paused = await clerk.runs.wait(tid, "approve", input={"messages": []})
    assert paused["__interrupt__"]
    detail = await refusal(editor.runs.wait(tid, "approve", command={"resume": {"type": "accept"}}))
    assert f"{editor_id!r} edited the state of thread {tid}" in detail
    # Someone who neither started nor edited it may approve the next pause.
    await clerk.runs.wait(tid, "approve", input={"messages": []})
    done = await other.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    assert "'type': 'accept'" in done["messages"][-1]["content"]


async def test_an_amount_above_the_threshold_needs_two_distinct_approvers(
    policy_server: AgentOpsProcess,
) -> None:
    tenant, (clerk, anna, ben), (_, anna_id, ben_id) = tenant_clients(
        policy_server, "operator", "approver", "approver"
    )
    tid = (await clerk.threads.create())["thread_id"]
    paused = await clerk.runs.wait(tid, "pay", input={"total": 5000})
    interrupt_id = paused["__interrupt__"][0]["id"]
    approve = {"resume": {"type": "accept"}}
    first = await refusal(anna.runs.wait(tid, "pay", command=approve))
    assert "two-approver rule" in first and "recorded (1 of 2)" in first
    again = await refusal(anna.runs.wait(tid, "pay", command=approve))
    assert f"{anna_id!r} has already approved interrupt {interrupt_id}" in again
    assert (await clerk.threads.get(tid))["status"] == "interrupted"
    done = await ben.runs.wait(tid, "pay", command=approve)
    assert done["answer"]["type"] == "accept" and done["answer"]["by"] == ben_id
    records = exported(policy_server, tenant)
    resume = next(r for r in records if r["action"] == "run.resume")
    assert resume["detail"]["approvers"] == [anna_id, ben_id]
    assert resume["detail"]["policy"] == ["two-approvers"]
    assert resume["detail"]["interrupts"] == [interrupt_id]
    recorded = [r for r in records if r["action"] == "approval.recorded"]
    assert [(r["actor"], r["detail"]["approvals"]) for r in recorded] == [(anna_id, 1)]


async def test_an_amount_at_or_below_the_threshold_needs_one_approver(
    policy_server: AgentOpsProcess,
) -> None:
    _, (clerk, anna), _ = tenant_clients(policy_server, "operator", "approver")
    tid = (await clerk.threads.create())["thread_id"]
    await clerk.runs.wait(tid, "pay", input={"total": 1000})
    done = await anna.runs.wait(tid, "pay", command={"resume": {"type": "accept"}})
    assert done["answer"]["type"] == "accept"


# Long enough for the first read right after the pause to find it not yet overdue.
EXPIRE_SECONDS = 3


@pytest.fixture(scope="session", params=BACKENDS)
def expiry_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    env = {**KEYS_AUTH, "AGENT_OPS_APPROVAL_EXPIRE_HOURS": str(EXPIRE_SECONDS / 3600)}
    return start(request, tmp_path_factory, "expiry", env)


async def test_an_overdue_approval_is_flagged_escalated_once_and_needs_the_escalation_role(
    expiry_server: AgentOpsProcess,
) -> None:
    tenant, (clerk, anna, boss), (_, anna_id, boss_id) = tenant_clients(
        expiry_server, "operator", "approver", "admin"
    )
    headers = {"x-api-key": create_key(expiry_server, tenant, "approver")["key"]}
    tid = (await clerk.threads.create())["thread_id"]
    paused = await clerk.runs.wait(tid, "approve", input={"messages": []})
    interrupt_id = paused["__interrupt__"][0]["id"]
    assert expiry_server.url is not None
    async with httpx.AsyncClient(base_url=expiry_server.url) as http:
        waiting = (await http.get("/approvals", headers=headers)).json()
        assert [(w["thread_id"], w["overdue"]) for w in waiting] == [(tid, False)]
        await asyncio.sleep(EXPIRE_SECONDS + 0.5)
        waiting = (await http.get("/approvals", headers=headers)).json()
        assert waiting[0]["overdue"] is True and waiting[0]["escalated_to"] == "admin"
        assert waiting[0]["interrupts"] == [interrupt_id] and waiting[0]["waited_hours"] > 0
        await http.get("/approvals", headers=headers)  # seen again: escalated only once
    detail = await refusal(anna.runs.wait(tid, "approve", command={"resume": {"type": "accept"}}))
    assert "expiry rule (AGENT_OPS_APPROVAL_EXPIRE_HOURS=" in detail
    assert f"escalated to role 'admin'; {anna_id!r} has role 'approver'" in detail
    done = await boss.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    assert f"'by': '{boss_id}'" in done["messages"][-1]["content"]
    records = exported(expiry_server, tenant)
    escalated = [r for r in records if r["action"] == "approval.escalated"]
    assert len(escalated) == 1 and escalated[0]["detail"]["escalated_to"] == "admin"
    assert escalated[0]["actor"] == "system"  # found by a reader's request, done by the clock
    resume = next(r for r in records if r["action"] == "run.resume")
    assert resume["detail"]["policy"] == ["expiry"] and resume["actor"] == boss_id
