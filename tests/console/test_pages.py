"""The console's pages over plain HTTP: HTML shells, static files, ids checked."""

from __future__ import annotations

import httpx

from server.console import PAGES
from tests.servers import AgentOpsProcess


def test_console_answers_html(base_url: str) -> None:
    response = httpx.get(f"{base_url}/console")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Approvals" in response.text
    assert "/console/static/inbox.js" in response.text


def test_vendored_htmx_is_served_with_its_licence_header(base_url: str) -> None:
    response = httpx.get(f"{base_url}/console/static/htmx.min.js")
    assert response.status_code == 200
    assert response.text.startswith("/*! htmx 2.0.11")
    assert "0BSD" in response.text.splitlines()[0]


def test_review_page_of_a_malformed_thread_id_is_422_naming_it(base_url: str) -> None:
    response = httpx.get(f"{base_url}/console/inbox/not-a-thread<script>")
    assert response.status_code == 422
    assert "not-a-thread" in response.json()["detail"]


def test_start_up_prints_the_console_url(console_server: AgentOpsProcess) -> None:
    assert console_server.proc is not None and console_server.proc.stdout is not None
    line = console_server.proc.stdout.readline()  # the line after "agent-ops listening on"
    assert line.strip() == f"agent-ops console: {console_server.url}/console"


def test_the_page_shells_are_named_for_an_auth_gate_to_leave_open() -> None:
    assert {"/console", "/console/inbox/{thread_id}", "/console/chat"} <= PAGES
    assert all(page.startswith("/console") for page in PAGES)
