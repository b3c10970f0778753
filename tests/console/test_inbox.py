"""The approvals inbox in a real browser: threads paused in each payload format are listed,
rendered and answered from the page, and the answer reaches the graph (read back with the sdk)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

INVOICE: dict[str, Any] = {
    "vendor_name": "Acme Tools",
    "invoice_number": "INV-7",
    "issue_date": "2026-11-30",
    "currency": "EUR",
    "po_number": "PO-12",
    "lines": [
        {"description": "Drill", "quantity": "2", "unit_price": "120.00", "amount": "240.00"},
        {"description": "Bits", "quantity": "10", "unit_price": "3.00", "amount": "30.00"},
    ],
    "subtotal": "270.00",
    "tax": "54.00",
    "total": "324.00",
}
PRICE = "line 1 (Drill): unit price 120.00 against 100.00 on the order (+20.0%, tolerance 2%)"
MATCH: dict[str, Any] = {
    "supplier_id": 1,
    "supplier": "Acme Tools",
    "purchase_id": 5,
    "purchase_number": "PO-12",
    "lines": [
        {
            "index": 0,
            "purchase_line_id": 11,
            "description": "Drill",
            "quantity": "2",
            "unit_price": "120.00",
        },
        {
            "index": 1,
            "purchase_line_id": 12,
            "description": "Bits",
            "quantity": "10",
            "unit_price": "3.00",
        },
    ],
    "findings": [{"code": "price_mismatch", "field": "lines[0].unit_price", "message": PRICE}],
}


@pytest.fixture
def client(base_url: str) -> SyncLangGraphClient:
    return get_sync_client(url=base_url)


def paused(client: SyncLangGraphClient, graph: str, values: dict[str, Any]) -> str:
    """A new thread whose run of `graph` stopped at its interrupt."""
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], graph, input=values)
    state = client.threads.get(thread["thread_id"])
    assert state["status"] == "interrupted", state
    return thread["thread_id"]


def open_review(page: Page, thread_id: str) -> None:
    """Find the thread in the inbox and open it, as an operator would."""
    page.goto("/console")
    row = page.locator(f'#inbox tr[data-thread-id="{thread_id}"]')
    expect(row).to_be_visible()
    row.get_by_role("link").click()
    expect(page.locator("#thread-id")).to_have_text(thread_id)
    expect(page.locator(".interrupt")).to_have_count(1)


def finished(page: Page) -> None:
    expect(page.locator("#review-outcome")).to_have_attribute("data-run-status", "success")
    expect(page.locator("#interrupts")).to_contain_text("nothing waits for a decision")


def test_inbox_lists_interrupted_threads_oldest_first_with_age(
    page: Page, client: SyncLangGraphClient, screenshot: Callable[[Page, str], Path]
) -> None:
    older = paused(client, "question", {"messages": [{"role": "user", "content": "hi"}]})
    newer = paused(client, "approval_gate", {"request": {"amount": 5000}})
    page.goto("/console")
    rows = page.locator("#inbox tbody tr")
    expect(page.locator(f'#inbox tr[data-thread-id="{newer}"]')).to_have_count(1)
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.threadId)")
    assert ids.index(older) < ids.index(newer)
    gate = page.locator(f'#inbox tr[data-thread-id="{newer}"]')
    expect(gate).to_contain_text("approval_gate")
    expect(gate).to_contain_text("exceeds the auto-approval limit")
    expect(gate.locator("td").first).to_have_text(re.compile(r"^\d+ s$"))
    total = client.threads.count(status="interrupted")
    expect(page.locator("#inbox-count")).to_have_text(f"({total})")
    screenshot(page, "inbox")


def test_agent_inbox_accept_in_the_page_finishes_the_thread(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = paused(client, "approval_gate", {"request": {"amount": 5000, "item": "laptops"}})
    open_review(page, thread_id)
    expect(page.locator(".decision")).to_have_attribute("data-format", "agent-inbox")
    page.get_by_label("Accept").check()
    page.get_by_role("button", name="Send decision").click()
    finished(page)
    values = client.threads.get_state(thread_id)["values"]
    assert values["status"] == "approved"
    assert values["decisions"][-1]["outcome"] == "approved"
    assert client.threads.get(thread_id)["status"] == "idle"
    statuses = sorted(run["status"] for run in client.runs.list(thread_id))
    assert statuses == ["interrupted", "success"]


def test_invoice_review_shows_fields_order_lines_and_flags_the_finding(
    page: Page, client: SyncLangGraphClient, screenshot: Callable[[Page, str], Path]
) -> None:
    thread_id = paused(client, "invoice_review", {"invoice": INVOICE, "match": MATCH})
    open_review(page, thread_id)
    invoice = page.locator(".invoice")
    expect(invoice.locator('td[data-field="vendor_name"]')).to_have_text("Acme Tools")
    expect(invoice.locator('td[data-field="total"]')).to_have_text("324.00")
    drill = invoice.locator('tr[data-line="0"]')
    expect(drill).to_contain_text("PO-12 line 11")
    expect(drill.locator("td.flagged")).to_have_text("120.00")
    expect(invoice.locator('tr[data-line="1"] td.flagged')).to_have_count(0)
    expect(invoice.locator(".finding")).to_have_text(
        f"price_mismatch (lines[0].unit_price): {PRICE}"
    )
    # The description is the workflow's own markdown, rendered, its findings as a list.
    expect(page.locator(".description li")).to_contain_text("price_mismatch")
    screenshot(page, "review")
    page.get_by_label("Edit").check()
    expect(page.get_by_label("Message")).to_be_hidden()
    page.get_by_label("lines 1 unit_price").fill("100.00")
    page.get_by_label("lines 1 amount").fill("200.00")
    page.get_by_role("button", name="Send decision").click()
    finished(page)
    values = client.threads.get_state(thread_id)["values"]
    assert values["status"] == "edited"
    assert values["invoice"]["lines"][0]["unit_price"] == "100.00"
    assert values["invoice"]["lines"][0]["amount"] == "200.00"
    assert values["invoice"]["lines"][1] == {
        **INVOICE["lines"][1],
        "product_code": None,
        "allowances": "0",
        "charges": "0",
    }


def test_invoice_respond_sends_the_reason_as_agent_inbox_response(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = paused(client, "invoice_review", {"invoice": INVOICE, "match": MATCH})
    open_review(page, thread_id)
    page.get_by_label("Respond").check()
    page.get_by_label("Message").fill("The drill was ordered at 100.00; send a credit note.")
    page.get_by_role("button", name="Send decision").click()
    finished(page)
    values = client.threads.get_state(thread_id)["values"]
    assert values["status"] == "rejected"
    assert values["reason"] == "The drill was ordered at 100.00; send a credit note."


def test_langchain_edit_resumes_with_decisions_and_edited_action(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = paused(client, "tool_review", {"to": "ops@example.com"})
    open_review(page, thread_id)
    expect(page.locator(".decision")).to_have_attribute("data-format", "langchain")
    expect(page.locator(".interrupt h2")).to_have_text("send_email")
    page.get_by_label("Edit").check()
    page.get_by_label("to", exact=True).fill("billing@example.com")
    page.get_by_role("button", name="Send decision").click()
    finished(page)
    answer = client.threads.get_state(thread_id)["values"]["answer"]
    assert answer == {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {
                    "name": "send_email",
                    "args": {"to": "billing@example.com", "subject": "Paid"},
                },
            }
        ]
    }


def test_langchain_reject_carries_the_message(page: Page, client: SyncLangGraphClient) -> None:
    thread_id = paused(client, "tool_review", {})
    open_review(page, thread_id)
    page.get_by_label("Reject").check()
    page.get_by_label("Message").fill("Not before the credit note")
    page.get_by_role("button", name="Send decision").click()
    finished(page)
    answer = client.threads.get_state(thread_id)["values"]["answer"]
    assert answer == {"decisions": [{"type": "reject", "message": "Not before the credit note"}]}


def test_any_other_interrupt_is_shown_as_json_with_a_free_form_resume(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = paused(client, "question", {"messages": [{"role": "user", "content": "hi"}]})
    open_review(page, thread_id)
    expect(page.locator("pre.json")).to_contain_text('"question": "approve?"')
    page.get_by_label("Resume value").fill('{"ok": true}')
    page.get_by_role("button", name="Resume").click()
    finished(page)
    messages = client.threads.get_state(thread_id)["values"]["messages"]
    assert messages[-1]["content"] == "answer: {'ok': True}"


def test_several_interrupts_on_one_thread_are_answered_one_by_one(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = paused(client, "pair", {})
    page.goto(f"/console/inbox/{thread_id}")
    cards = page.locator(".interrupt")
    expect(cards).to_have_count(2)
    legal = cards.filter(has_text='"legal?"')
    legal.get_by_label("Resume value").fill('"yes"')
    legal.get_by_role("button", name="Resume").click()
    # The answer was keyed by its interrupt id: finance still waits, alone.
    expect(page.locator("#review-outcome")).to_have_attribute("data-run-status", "interrupted")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text('"finance?"')
    cards.get_by_label("Resume value").fill("later")
    cards.get_by_role("button", name="Resume").click()
    expect(page.locator("#review-outcome")).to_have_attribute("data-run-status", "success")
    answers = client.threads.get_state(thread_id)["values"]["answers"]
    assert sorted(answers) == ["finance: later", "legal: yes"]


def test_script_in_an_invoice_is_shown_not_run(page: Page, client: SyncLangGraphClient) -> None:
    hostile = "<script>window.__ran = 1</script><img src=x onerror='window.__ran = 2'>"
    sent = {**INVOICE, "vendor_name": f"Acme {hostile}"}
    sent["lines"] = [{**INVOICE["lines"][0], "description": hostile}, INVOICE["lines"][1]]
    finding = {"code": "vendor_mismatch", "field": "vendor_name", "message": f"from {hostile}"}
    thread_id = paused(
        client, "invoice_review", {"invoice": sent, "match": {**MATCH, "findings": [finding]}}
    )
    open_review(page, thread_id)
    invoice = page.locator(".invoice")
    expect(invoice.locator('td[data-field="vendor_name"]')).to_have_text(f"Acme {hostile}")
    expect(invoice.locator('tr[data-line="0"] td').nth(1)).to_have_text(hostile)
    expect(invoice.locator(".finding")).to_contain_text(hostile)
    expect(page.locator(".description")).to_contain_text(hostile)
    assert page.evaluate("window.__ran") is None
    assert page.locator(".interrupt script, .interrupt img").count() == 0


def test_agent_inbox_ignore_rejects(page: Page, client: SyncLangGraphClient) -> None:
    thread_id = paused(client, "approval_gate", {"request": {"amount": 7000}})
    open_review(page, thread_id)
    page.get_by_label("Ignore (reject)").check()
    expect(page.get_by_label("Message")).to_be_hidden()
    page.get_by_role("button", name="Send decision").click()
    finished(page)
    values = client.threads.get_state(thread_id)["values"]
    assert values["status"] == "rejected"
    assert values["decisions"][-1]["outcome"] == "rejected"


def test_a_decision_can_be_made_with_the_keyboard_alone(
    page: Page, client: SyncLangGraphClient
) -> None:
    thread_id = paused(client, "approval_gate", {"request": {"amount": 8000}})
    page.goto("/console")
    link = page.locator(f'#inbox tr[data-thread-id="{thread_id}"] a')
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".decision")).to_be_visible()
    page.get_by_label("Accept").focus()
    page.keyboard.press("ArrowRight")  # radio group: the next answer, Edit
    expect(page.get_by_label("Edit")).to_be_checked()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_label("Accept")).to_be_checked()
    for _ in range(30):  # Tab on to the send button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Send decision":
            break
    page.keyboard.press("Enter")
    finished(page)
    assert client.threads.get_state(thread_id)["values"]["status"] == "approved"
