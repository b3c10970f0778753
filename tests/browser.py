"""Headless Chromium for the browser tests: Debian's `chromium` driven by Playwright with its
executable path set (no browser download), and a page that fails its test on any JavaScript
error or any error left showing in its alert box."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("AGENT_OPS_CHROMIUM", "/usr/bin/chromium")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Launch the headless browser; it closes on the way out."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@contextmanager
def checked_page(browser: Browser, base_url: str | None, tmp_path: Path) -> Iterator[Page]:
    """A fresh page on `base_url`; afterwards its screenshot is left in `tmp_path`, and any
    JavaScript error or error shown on the page fails the test."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    # An API error the page caught is shown in its alert box: none may be left showing.
    shown = page.locator("[role=alert]:visible").all_inner_texts()
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not shown, f"errors shown on the page: {shown}"
