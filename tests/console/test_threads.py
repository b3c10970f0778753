"""The threads list and a thread's run timeline in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from playwright.sync_api import Page, expect

from tests.console.conftest import MODEL_REPLY

pytestmark = pytest.mark.browser

HI = {"messages": [{"type": "human", "content": "hi"}]}


@pytest.fixture
def client(base_url: str) -> SyncLangGraphClient:
    return get_sync_client(url=base_url)


def _thread_ran(client: SyncLangGraphClient, graph: str, **run: Any) -> str:
    """A new thread with one run of `graph` waited for; its id."""
    thread_id: str = client.threads.create()["thread_id"]
    client.runs.wait(thread_id, graph, **run)
    return thread_id


def test_threads_are_paged_and_filtered_by_assistant_and_status(
    page: Page, client: SyncLangGraphClient
) -> None:
    made = []
    for _ in range(3):
        made.append(_thread_ran(client, "listed", input=HI))
    page.goto("/console/threads?limit=2")
    page.get_by_label("Assistant").select_option("listed")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#threads tbody tr")
    expect(page.locator("#threads-count")).to_have_text("(3)")
    expect(page.locator("#page-label")).to_have_text("page 1 of 2")
    expect(rows).to_have_count(2)
    first = rows.evaluate_all("rows => rows.map(r => r.dataset.threadId)")
    assert first == [made[2], made[1]]  # newest first
    page.get_by_role("button", name="Older").click()
    expect(page.locator("#page-label")).to_have_text("page 2 of 2")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-thread-id", made[0])
    page.get_by_label("Status").select_option("interrupted")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#threads-empty")).to_be_visible()
    expect(page.locator("#threads-count")).to_have_text("(0)")
    page.get_by_label("Status").select_option("idle")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#threads-count")).to_have_text("(3)")
    expect(page.locator("#threads tbody td.status").first).to_have_text("idle")


def test_timeline_shows_each_step_its_nodes_writes_and_state(
    page: Page, client: SyncLangGraphClient, screenshot: Callable[[Page, str], Path]
) -> None:
    thread_id = _thread_ran(client, "agent", input=HI)
    page.goto("/console/threads")
    page.locator(f'#threads tr[data-thread-id="{thread_id}"] a').click()
    steps = page.locator("#timeline > li.checkpoint")
    history = client.threads.get_history(thread_id)
    expect(steps).to_have_count(len(history))
    ran = page.locator("#timeline .task").evaluate_all("ts => ts.map(t => t.dataset.node)")
    assert ran == ["__start__", "call_tool", "run_tool", "answer"]
    run_tool = page.locator('#timeline .task[data-node="run_tool"]')
    run_tool.get_by_text("writes").click()
    expect(run_tool.locator("pre")).to_contain_text('"tool_call_id": "call-1"')
    last = steps.last
    expect(last).to_contain_text("changed: messages")
    # The diff to the parent: the one message the answer step appended.
    last.get_by_text("diff to the parent").click()
    diff = last.locator('.diff[data-key="messages"]')
    expect(diff).to_contain_text("messages +1 item")
    expect(diff.locator("pre")).to_contain_text("PO-12 has 3 open lines")
    expect(diff.locator("pre")).not_to_contain_text('"content": "hi"')
    expect(last).to_contain_text("nothing left to run")
    last.get_by_text("state at this step").click()
    expect(last.locator(".state pre")).to_contain_text("PO-12 has 3 open lines")
    conversation = page.locator("#thread-log")
    expect(conversation.locator(".msg")).to_have_text(["hi", re.compile("^PO-12 has 3 open")])
    expect(conversation.locator('.tool-card[data-tool="lookup_po"] .result')).to_contain_text(
        '"lines": 3'
    )
    screenshot(page, "timeline")
    page.get_by_role("link", name="Continue in the chat").click()
    expect(page.locator("#chat-thread")).to_have_text(thread_id)
    expect(page.locator("#chat-log .msg")).to_have_count(2)
    expect(page.locator("#chat-assistant")).to_be_disabled()


def test_timeline_shows_a_failed_step_with_its_error(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = _thread_ran(client, "fail", input=HI, raise_error=False)
    page.goto(f"/console/threads/{thread_id}")
    expect(page.locator("#thread-meta")).to_contain_text("status error")
    failed = page.locator('#timeline .task.failed[data-node="explode"]')
    expect(failed).to_contain_text("invoice total 120.00 does not match lines 100.00")


def test_fork_from_a_checkpoint_runs_again_and_keeps_the_original(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = _thread_ran(client, "agent", input=HI)
    before = {s["checkpoint"]["checkpoint_id"] for s in client.threads.get_history(thread_id)}
    page.goto(f"/console/threads/{thread_id}")
    # Step 1 is the checkpoint after the tool call, with run_tool next: run the rest again.
    page.locator('#timeline > li[data-step="1"]').get_by_role(
        "button", name="Fork from here"
    ).click()
    expect(page.locator("body")).to_have_attribute("data-forked", "success")
    runs = client.runs.list(thread_id)
    assert [r["status"] for r in runs] == ["success", "success"]
    after = {s["checkpoint"]["checkpoint_id"] for s in client.threads.get_history(thread_id)}
    assert before < after  # the original checkpoints are all kept, the fork's added
    messages = client.threads.get_state(thread_id)["values"]["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    expect(page.locator("#timeline > li.checkpoint")).to_have_count(len(after))
    expect(page.locator("#timeline .branch")).to_have_text([" · forked from step 1"])


def test_timeline_shows_the_model_decisions_of_a_step(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = _thread_ran(client, "model_reply", input=HI)
    (run,) = client.runs.list(thread_id)
    (logged,) = client.http.get(f"/threads/{thread_id}/runs/{run['run_id']}/decisions")
    page.goto(f"/console/threads/{thread_id}")
    decision = page.locator('#timeline .decision[data-role="respond"]')
    expect(decision).to_have_count(1)
    prompt = logged["prompt"]
    expect(decision).to_contain_text(
        f"openai:scripted scripted-gpt · prompt respond@{prompt['version']}"
    )
    expect(decision).to_contain_text("tokens 11 in, 7 out")
    # Under the step the respond node wrote, the one whose state gained the reply.
    step = page.locator("#timeline > li.checkpoint").filter(
        has=page.locator('.decision[data-role="respond"]')
    )
    step.get_by_text("state at this step").click()
    expect(step.locator(".state pre")).to_contain_text(MODEL_REPLY)


def test_threads_are_filtered_by_metadata(page: Page, client: SyncLangGraphClient) -> None:
    tagged = client.threads.create(metadata={"customer": "acme-console", "priority": 2})
    client.threads.create(metadata={"customer": "other-console", "priority": 2})
    page.goto("/console/threads")
    page.get_by_label("Metadata").fill("customer=acme-console, priority=2")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#threads tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-thread-id", tagged["thread_id"])
    expect(page.get_by_label("Metadata")).to_have_value("customer=acme-console, priority=2")


def test_timeline_diff_shows_a_replaced_value_before_and_after(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = _thread_ran(client, "approval_gate", input={"request": {"amount": 5000}})
    client.runs.wait(thread_id, "approval_gate", command={"resume": [{"type": "accept"}]})
    page.goto(f"/console/threads/{thread_id}")
    last = page.locator("#timeline > li.checkpoint").last
    last.get_by_text("diff to the parent").click()
    status = last.locator('.diff[data-key="status"] .before-after')
    expect(status.locator("pre")).to_have_text(['"pending"', '"approved"'])


def test_threads_are_filtered_by_creation_date(page: Page, client: SyncLangGraphClient) -> None:
    older = client.threads.create(metadata={"batch": "dated-console"})
    newer = client.threads.create(metadata={"batch": "dated-console"})
    page.goto("/console/threads")
    # The days as the page reads them: in the browser's time zone.
    yesterday, today, tomorrow = page.evaluate(
        "[-1, 0, 1].map(d => new Date(Date.now() + d * 86400000).toLocaleDateString('sv'))"
    )
    page.get_by_label("Metadata").fill("batch=dated-console")
    page.get_by_label("Created from").fill(today)
    page.get_by_label("Created to").fill(today)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#threads tbody tr")
    expect(page.locator("#threads-count")).to_have_text("(2)")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.threadId)") == [
        newer["thread_id"],
        older["thread_id"],
    ]
    expect(page.locator("#threads-scan")).to_have_text("Newest created first.")
    assert f"from={today}" in page.url and f"to={today}" in page.url
    for start, end in ((tomorrow, ""), ("", yesterday)):
        page.get_by_label("Created from").fill(start)
        page.get_by_label("Created to").fill(end)
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#threads-count")).to_have_text("(0)")
        expect(page.locator("#threads-empty")).to_be_visible()
