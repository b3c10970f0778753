"""The shipped suites as CI runs them: `agent-ops eval run routing` (the whole held-out
BANKING77 split through the embedded router) and `agent-ops eval run invoice` (the 40 documents
read by the embedded SmolLM2, answered from the recorded replay cache with no model file, so no
model server can start), each reported with `agent-ops eval report`, its HTML page opened in
headless Chromium and the numbers the page shows read against the JSON report.

One experiment per suite for the whole module; the browser starts after both ran (Playwright's
sync API keeps an event loop on this thread, and the CLI runs its own with asyncio.run).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from agent_ops.cli import main
from evals.harness.compare import lower_is_better
from tests.browser import chromium

# Measured on the shipped router (all-MiniLM-L6-v2, nearest centroid, evals/datasets/banking77
# train.csv) over the 1,410 held-out cases: 0.7404 (2026-12-06). The router is deterministic; the
# floor is that measurement, so a change that makes routing worse fails here.
ROUTING_ACCURACY_FLOOR = 0.74

pytestmark = pytest.mark.browser


def _run_and_report(suite: str, results: Path, *extra: str) -> dict[str, Any]:
    """`eval run SUITE` then `eval report`; return the JSON report with the page's path."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["eval", "run", suite, "--results", str(results), *extra]) == 0
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("experiment: "), last
    folder = Path(last.removeprefix("experiment: "))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["eval", "report", str(folder)]) == 0
    report: dict[str, Any] = json.loads((folder / "report.json").read_text())
    report["page"] = folder / "report.html"
    return report


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    results = tmp_path_factory.mktemp("eval-results")
    with pytest.MonkeyPatch.context() as env:
        # No model file: every model answer of the invoice suite must come from its replay cache.
        env.setenv("AGENT_OPS_LOCAL_MODEL_PATH", str(results / "no-such-model.gguf"))
        return {
            "routing": _run_and_report("routing", results, "--concurrency", "2"),
            "invoice": _run_and_report("invoice", results, "--replay", "replay"),
        }


@pytest.fixture(scope="module")
def browser(reports: dict[str, dict[str, Any]]) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _open(browser: Browser, report: dict[str, Any]) -> Page:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(report["page"].as_uri())
    assert errors == []
    return page


def _fmt(value: float) -> str:
    """The page's number format (evals.harness.report): integers bare, else 4 decimals."""
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def _check_page_against_json(page: Page, report: dict[str, Any]) -> None:
    summary = report["summary"]
    metrics = summary["metrics"]
    # Every metric of the table, as the page renders it, is the JSON's number.
    shown = {
        row.locator("td").nth(0).inner_text(): row.locator("td").nth(1).inner_text()
        for row in page.locator("#metrics tr").all()
    }
    assert shown == {name: _fmt(value) for name, value in metrics.items()}
    # The bars: one per rate (0..1), labelled with its value to 4 places.
    bars = {
        cell.get_attribute("data-metric"): cell.inner_text()
        for cell in page.locator("td[data-metric]").all()
    }
    assert bars, "the page draws no metric bar"
    for name, text in bars.items():
        assert text == f"{metrics[name]:.4f}", name
    # Case counts: the header, the drill-down and the JSON agree.
    assert f"{summary['cases']} runs" in page.locator("body > p").first.inner_text()
    assert page.locator("details.case").count() == summary["cases"] == len(report["cases"])
    statuses = summary["statuses"]
    bad = sum(
        1
        for c in report["cases"]
        if c["status"] != "success"
        or any(
            v is not None and (v > 0 if lower_is_better(k) else v < 1)
            for k, v in c["scores"].items()
        )
    )
    assert page.locator("details.case.bad").count() == bad
    assert sum(statuses.values()) == summary["cases"]
    # The page's embedded data is the JSON report itself.
    embedded = json.loads(page.locator("#data").text_content() or "null")
    assert embedded["summary"] == summary
    # A case opens to its inputs, output and expected output.
    first = page.locator("details.case").first
    first.locator("summary").click()
    assert first.locator("h4").all_inner_texts() == ["inputs", "output", "expected"]


def test_routing_report_page_shows_the_json_numbers_and_accuracy_holds_its_floor(
    browser: Browser, reports: dict[str, dict[str, Any]]
) -> None:
    report = reports["routing"]
    summary = report["summary"]
    assert summary["cases"] == 1410 and summary["statuses"] == {"success": 1410}
    assert summary["metrics"]["classification.accuracy"] >= ROUTING_ACCURACY_FLOOR
    assert summary["metrics"]["outcome.error_rate"] == 0.0
    page = _open(browser, report)
    _check_page_against_json(page, report)
    # Every label expected or answered (more than 30): the page lists the largest confusions,
    # which are the JSON matrix's largest off-diagonal cells.
    details = summary["details"]["classification"]
    labels, matrix = details["labels"], details["confusion"]
    seen = {c["expected"]["label"] for c in report["cases"]}
    assert labels == sorted(seen | {c["output"]["route"] for c in report["cases"]})
    assert len(labels) > 30
    rows = page.locator("h3:has-text('largest confusions') + table tr").all()[1:]
    assert rows, "no confusion table on the page"
    for row in rows:
        want, got, count = row.locator("td").all_inner_texts()
        assert matrix[labels.index(want)][labels.index(got)] == int(count)
    top = max(matrix[i][j] for i in range(len(labels)) for j in range(len(labels)) if i != j)
    assert int(rows[0].locator("td").nth(2).inner_text()) == top
    page.close()


def test_invoice_report_page_shows_the_json_numbers_and_no_wrong_payment(
    browser: Browser, reports: dict[str, dict[str, Any]]
) -> None:
    report = reports["invoice"]
    summary = report["summary"]
    metrics = summary["metrics"]
    assert summary["cases"] == 40 and summary["statuses"] == {"success": 40}
    assert report["meta"]["replay"]["misses"] == 0
    # The safety property: no document that should have waited for a person is paid.
    assert metrics["wrong_payment.wrong_rate"] == 0.0
    assert summary["details"]["wrong_payment"]["wrong_cases"] == []
    assert metrics["decision.false_accept"] == 0.0
    page = _open(browser, report)
    _check_page_against_json(page, report)
    assert page.locator('td[data-metric="wrong_payment.wrong_rate"]').inner_text() == "0.0000"
    assert page.locator('td[data-metric="fields.all"]').inner_text() == (
        f"{metrics['fields.all']:.4f}"
    )
    # The by-tag table: each tag's case count is the JSON's.
    by_tag = summary["details"]["by_tag"]
    for row in page.locator("table.tags tr").all()[1:]:
        cells = row.locator("td").all_inner_texts()
        assert int(cells[1]) == by_tag[cells[0]]["cases"]
    assert page.locator("table.tags tr").count() == 1 + len(by_tag)
    page.close()
