"""The audit page in a real browser: records the API holds, filtered and paged as the URL says."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_audit_page_shows_a_threads_records_filtered_by_resource(
    page: Page, base_url: str, screenshot: Callable[[Page, str], Path]
) -> None:
    client = get_sync_client(url=base_url)
    thread = client.threads.create(metadata={"audited": True})
    client.threads.delete(thread["thread_id"])
    page.goto(f"/console/audit?resource_id={thread['thread_id']}")
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator('[data-field="action"]')).to_have_text("thread.create")
    expect(rows.nth(1).locator('[data-field="action"]')).to_have_text("thread.delete")
    # Authentication is off in this suite: the actor of a request is `anonymous`.
    expect(rows.nth(0).locator('[data-field="actor"]')).to_have_text("anonymous")
    expect(page.locator("#filter-resource-id")).to_have_value(thread["thread_id"])
    expect(page.locator('nav a[href$="/console/audit"]')).to_have_attribute("aria-current", "page")
    screenshot(page, "audit")


def test_audit_page_follows_the_cursor_to_the_next_page(page: Page, base_url: str) -> None:
    client = get_sync_client(url=base_url)
    for _ in range(3):
        client.threads.create(metadata={"paged": True})
    page.goto("/console/audit?action=thread.create&limit=2")
    expect(page.locator("#audit tbody tr")).to_have_count(2)
    first_seq = page.locator("#audit tbody tr").nth(0).get_attribute("data-seq")
    page.locator("#page-next").click()
    expect(page).to_have_url(re.compile(r"[?&]after="))
    expect(page.locator("#audit tbody tr").first).not_to_have_attribute("data-seq", first_seq or "")
    expect(page.locator("#page-first")).to_be_enabled()
