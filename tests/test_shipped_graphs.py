"""The graphs agent-ops ships, run through a real server on the repository's langgraph.json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from tests.servers import AgentOpsProcess

ROOT_CONFIG = Path(__file__).resolve().parent.parent / "langgraph.json"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("shipped")
    server = AgentOpsProcess(f"sqlite:///{folder}/a.db", folder, config=ROOT_CONFIG).start()
    assert server.url is not None
    yield server.url
    server.stop()


def _gate(url: str, amount: object) -> tuple[object, str]:
    client = get_sync_client(url=url)
    thread = client.threads.create()
    request = {"title": "New laptops", "amount": amount, "requester": "ops"}
    return client.runs.wait(
        thread["thread_id"], "approval_gate", input={"request": request}
    ), thread["thread_id"]


def test_request_within_policy_is_approved_without_a_person(shipped: str) -> None:
    result, _ = _gate(shipped, 250)
    assert result["status"] == "approved"
    assert result["decisions"][0]["by"] == "rules"
    assert "within the auto-approval limit" in result["decisions"][0]["reason"]


def test_request_over_limit_waits_in_agent_inbox_format_then_accept_approves(shipped: str) -> None:
    client = get_sync_client(url=shipped)
    paused, thread_id = _gate(shipped, 4200)
    [request] = paused["__interrupt__"][0]["value"]
    assert request["action_request"]["action"] == "approve_request"
    assert request["config"] == {
        "allow_accept": True,
        "allow_edit": True,
        "allow_ignore": True,
        "allow_respond": True,
    }
    assert client.threads.get(thread_id)["status"] == "interrupted"
    done = client.runs.wait(
        thread_id, "approval_gate", command={"resume": [{"type": "accept", "by": "maria"}]}
    )
    assert done["status"] == "approved"
    assert done["decisions"][-1] == {
        "step": "review",
        "outcome": "approved",
        "reason": "approved by a person",
        "by": "maria",
    }


def test_edit_rechecks_the_edited_request(shipped: str) -> None:
    client = get_sync_client(url=shipped)
    _, thread_id = _gate(shipped, 4200)
    done = client.runs.wait(
        thread_id, "approval_gate", command={"resume": {"type": "edit", "args": {"amount": 900}}}
    )
    assert done["status"] == "approved" and done["request"]["amount"] == 900
    assert [d["outcome"] for d in done["decisions"]] == ["needs_review", "edited", "approved"]


def test_ignore_rejects_with_reason(shipped: str) -> None:
    client = get_sync_client(url=shipped)
    _, thread_id = _gate(shipped, 4200)
    done = client.runs.wait(
        thread_id, "approval_gate", command={"resume": {"type": "ignore", "args": "no budget"}}
    )
    assert done["status"] == "rejected" and done["decisions"][-1]["reason"] == "no budget"


def test_malformed_resume_asks_again_naming_the_problem(shipped: str) -> None:
    client = get_sync_client(url=shipped)
    _, thread_id = _gate(shipped, 4200)
    again = client.runs.wait(thread_id, "approval_gate", command={"resume": "sure"})
    [pause] = again["__interrupt__"][0]["value"]
    assert pause["description"].startswith("resume value must be")
    assert client.threads.get(thread_id)["status"] == "interrupted"
    done = client.runs.wait(thread_id, "approval_gate", command={"resume": {"type": "accept"}})
    assert done["status"] == "approved"
