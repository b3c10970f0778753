"""The metrics page in a real browser, checked against the API and /metrics it reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

HI = {"messages": [{"type": "human", "content": "hi"}]}


def _sample(base_url: str, series: str) -> int:
    """One series' value as /metrics has it now."""
    for line in httpx.get(f"{base_url}/metrics").text.splitlines():
        if line.startswith(series + " "):
            return int(float(line.split()[-1]))
    raise AssertionError(f"{series} not in /metrics")


def test_metrics_show_waiting_approvals_exceptions_and_runs(
    page: Page, base_url: str, screenshot: Callable[[Page, str], Path]
) -> None:
    client = get_sync_client(url=base_url)
    failed = client.threads.create()
    client.runs.wait(failed["thread_id"], "fail", input=HI, raise_error=False)
    waiting = client.threads.create()
    client.runs.wait(waiting["thread_id"], "question", input=HI)
    page.goto("/console/metrics")
    fail = page.locator('#workflows tr[data-graph="fail"]')
    errors = client.threads.count(status="error", metadata={"graph_id": "fail"})
    total = client.threads.count(metadata={"graph_id": "fail"})
    assert errors >= 1
    expect(fail.locator('[data-measure="error"]')).to_have_text(str(errors))
    expect(fail.locator('[data-measure="exception-rate"]')).to_have_text(
        f"{100 * errors / total:.1f} %"
    )
    question = page.locator('#workflows tr[data-graph="question"]')
    pending = client.threads.count(status="interrupted", metadata={"graph_id": "question"})
    expect(question.locator('[data-measure="interrupted"]')).to_have_text(str(pending))
    expect(question.locator('[data-measure="oldest"]')).not_to_be_empty()
    runs = page.locator("#runs")
    expect(runs.locator('[data-measure="runs-error"] td').first).to_have_text(
        str(_sample(base_url, 'agent_ops_runs{status="error"}'))
    )
    expect(runs.locator('[data-measure="duration-p50"] td').first).not_to_be_empty()
    screenshot(page, "metrics")
