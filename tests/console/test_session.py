"""Signing in on a page: the API key goes with every API call the console makes, as the sdk
sends it (`x-api-key`), and signing out stops it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, expect

pytestmark = pytest.mark.browser


def test_the_api_key_signed_in_with_is_sent_on_every_api_call(page: Page) -> None:
    sent: list[tuple[str, str | None]] = []

    def record(request: Request) -> None:
        if "/console/" not in request.url:
            sent.append((request.url, request.headers.get("x-api-key")))

    page.on("request", record)
    page.goto("/console/metrics")
    expect(page.locator("#workflows tbody tr").first).to_be_visible()
    assert sent and all(key is None for _, key in sent), sent
    page.get_by_label("API key").fill("aok_test_key")
    page.get_by_role("button", name="Sign in").click()
    # With authentication off the server says so: every caller acts as admin.
    expect(page.locator("#sign-in-state")).to_have_text(
        "authentication off: you act as admin · tenant default"
    )
    sent.clear()
    page.goto("/console/metrics")
    # Both tables drawn: every call behind them was sent.
    expect(page.locator("#workflows tbody tr").first).to_be_visible()
    expect(page.locator("#runs tbody tr").first).to_be_visible()
    urls = {url.split("?")[0].rsplit("/", 2)[-2:][-1] for url, _ in sent}
    assert {"search", "count", "metrics"} <= urls, urls
    assert all(key == "aok_test_key" for _, key in sent), sent
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    sent.clear()
    page.goto("/console")
    expect(page.locator("#inbox-count")).not_to_be_empty()
    assert sent and all(key is None for _, key in sent), sent
