"""The console with authentication on: it asks `GET /me` who signed in, shows the subject and
tenant in the header, and offers the decision only to roles that may approve (an operator sees
the interrupt and a note why it cannot answer; an approver answers it). The server still
refuses an operator's resume: the page only reflects the role table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client
from playwright.sync_api import Browser, Page, expect

from tests.browser import checked_page
from tests.console.conftest import CONFIG
from tests.governance.conftest import KEYS_AUTH, create_key
from tests.servers import AgentOpsProcess, new_server, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentOpsProcess]:
    env = {"AGENT_OPS_WORKERS": "2", **KEYS_AUTH}
    with serving(new_server(tmp_path_factory, "console-keys", env, config=CONFIG)) as server:
        yield server


@pytest.fixture(scope="module")
def keys(keyed_server: AgentOpsProcess) -> dict[str, dict[str, Any]]:
    return {
        role: create_key(keyed_server, "acme", role, "--name", f"{role} on shift")
        for role in ("viewer", "operator", "approver")
    }


@pytest.fixture(scope="module")
def paused_thread(keyed_server: AgentOpsProcess, keys: dict[str, dict[str, Any]]) -> str:
    """A thread of tenant acme stopped at its interrupt (started by the operator)."""
    client = get_sync_client(url=keyed_server.url, api_key=keys["operator"]["key"])
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "question", input={"messages": []})
    assert client.threads.get(thread["thread_id"])["status"] == "interrupted"
    return str(thread["thread_id"])


@pytest.fixture
def keyed_page(browser: Browser, keyed_server: AgentOpsProcess, tmp_path: Path) -> Iterator[Page]:
    with checked_page(browser, keyed_server.url, tmp_path) as page:
        yield page


def sign_in(page: Page, key: str) -> None:
    page.goto("/console")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_operator_sees_the_interrupt_without_the_decision_and_a_note_why(
    keyed_page: Page,
    keyed_server: AgentOpsProcess,
    keys: dict[str, dict[str, Any]],
    paused_thread: str,
) -> None:
    operator = keys["operator"]
    sign_in(keyed_page, operator["key"])
    expect(keyed_page.locator("#sign-in-state")).to_have_text(
        "operator on shift · operator · tenant acme"
    )
    # The inbox lists the thread, with the note that this role only watches.
    expect(keyed_page.locator(f'#inbox tr[data-thread-id="{paused_thread}"]')).to_be_visible()
    expect(keyed_page.locator("#inbox-role .role-note")).to_contain_text("needs role approver")
    keyed_page.goto(f"/console/inbox/{paused_thread}")
    expect(keyed_page.locator(".interrupt")).to_have_count(1)
    expect(keyed_page.locator(".interrupt pre.json")).to_contain_text("approve?")
    expect(keyed_page.locator(".role-note")).to_contain_text(
        "with role operator: deciding (approve, edit, reject) needs role approver or above"
    )
    expect(keyed_page.locator("#interrupts button")).to_have_count(0)
    expect(keyed_page.locator("#interrupts textarea")).to_be_disabled()
    # The page reflects the rule; the server is what holds it.
    refused = httpx.post(
        f"{keyed_server.url}/threads/{paused_thread}/runs",
        json={"assistant_id": "question", "command": {"resume": "yes"}},
        headers={"x-api-key": operator["key"]},
        timeout=30,
    )
    assert refused.status_code == 403, refused.text


def test_an_approver_answers_the_interrupt_from_the_page(
    keyed_page: Page, keys: dict[str, dict[str, Any]], paused_thread: str
) -> None:
    sign_in(keyed_page, keys["approver"]["key"])
    expect(keyed_page.locator("#sign-in-state")).to_have_text(
        "approver on shift · approver · tenant acme"
    )
    expect(keyed_page.locator(f'#inbox tr[data-thread-id="{paused_thread}"]')).to_be_visible()
    expect(keyed_page.locator(".role-note")).to_have_count(0)
    keyed_page.goto(f"/console/inbox/{paused_thread}")
    expect(keyed_page.locator(".interrupt")).to_have_count(1)
    expect(keyed_page.locator(".role-note")).to_have_count(0)
    keyed_page.get_by_label("Resume value").fill('"yes"')
    keyed_page.get_by_role("button", name="Resume").click()
    expect(keyed_page.locator("#review-outcome")).to_have_attribute("data-run-status", "success")
    expect(keyed_page.locator("#interrupts")).to_contain_text("nothing waits for a decision")


def test_a_viewer_reads_a_thread_but_gets_no_send_box_and_no_fork(
    keyed_page: Page, keyed_server: AgentOpsProcess, keys: dict[str, dict[str, Any]]
) -> None:
    operator = get_sync_client(url=keyed_server.url, api_key=keys["operator"]["key"])
    thread = operator.threads.create()
    operator.runs.wait(thread["thread_id"], "echo", input={"messages": [("user", "hi")]})
    sign_in(keyed_page, keys["viewer"]["key"])
    expect(keyed_page.locator("#sign-in-state")).to_contain_text("· viewer · tenant acme")
    keyed_page.goto(f"/console/threads/{thread['thread_id']}")
    expect(keyed_page.locator("#timeline > li").first).to_be_visible()
    expect(keyed_page.locator(".role-note")).to_contain_text("forking from a step")
    expect(keyed_page.locator("button.fork")).to_have_count(0)
    keyed_page.goto("/console/chat")
    expect(keyed_page.locator(".role-note")).to_contain_text("sending a message")
    expect(keyed_page.locator("#chat-send")).to_be_hidden()
    expect(keyed_page.locator("#chat-input")).to_be_hidden()


def test_a_viewer_sees_no_decision_on_a_review_and_its_direct_resume_is_refused(
    keyed_page: Page, keyed_server: AgentOpsProcess, keys: dict[str, dict[str, Any]]
) -> None:
    operator = get_sync_client(url=keyed_server.url, api_key=keys["operator"]["key"])
    thread = operator.threads.create()
    tid = thread["thread_id"]
    operator.runs.wait(tid, "question", input={"messages": []})
    sign_in(keyed_page, keys["viewer"]["key"])
    expect(keyed_page.locator("#sign-in-state")).to_contain_text("· viewer · tenant acme")
    keyed_page.goto(f"/console/inbox/{tid}")
    expect(keyed_page.locator(".interrupt pre.json")).to_contain_text("approve?")
    expect(keyed_page.locator(".role-note")).to_contain_text(
        "with role viewer: deciding (approve, edit, reject) needs role approver or above"
    )
    expect(keyed_page.locator("#interrupts button")).to_have_count(0)
    expect(keyed_page.get_by_role("button", name="Resume")).to_have_count(0)
    # What the page leaves out, the server refuses: the viewer's resume through the sdk.
    viewer = get_sync_client(url=keyed_server.url, api_key=keys["viewer"]["key"])
    with pytest.raises(httpx.HTTPStatusError) as refused:
        viewer.runs.wait(tid, "question", command={"resume": "yes"})
    assert refused.value.response.status_code == 403
    assert "needs role" in refused.value.response.text
    assert operator.threads.get(tid)["status"] == "interrupted"
