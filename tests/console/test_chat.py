"""Chat in a real browser: tokens stream into the page, tool calls become cards, Stop cancels."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client
from playwright.sync_api import Browser, Page, Request, expect

from tests.console.conftest import MODEL_REPLY
from tests.console.console_graphs import PO_REPLY, SLOW_REPLY, STEADY_REPLY

pytestmark = pytest.mark.browser

# Every text the streaming bubble shows, in order, recorded as the page changes.
RECORD = """() => {
  window.__seen = [];
  new MutationObserver(() => {
    const node = document.querySelector('.msg.ai.streaming');
    if (node && window.__seen.at(-1) !== node.textContent) window.__seen.push(node.textContent);
  }).observe(document.getElementById('chat-log'), {childList: true, subtree: true, characterData: true});
}"""


def chat(page: Page, graph: str, message: str) -> None:
    page.goto(f"/console/chat?assistant={graph}")
    expect(page.locator("#chat-assistant option")).not_to_have_count(0)
    page.evaluate(RECORD)
    page.get_by_label("Message").fill(message)
    page.get_by_role("button", name="Send").click()


def test_chat_streams_tokens_and_shows_tool_calls_as_cards(
    page: Page, base_url: str, screenshot: Callable[[Page, str], Path]
) -> None:
    chat(page, "agent", "What is open on PO-12?")
    expect(page.locator("#chat-status")).to_have_text("done")
    log = page.locator("#chat-log")
    expect(log.locator(".msg.human")).to_have_text("What is open on PO-12?")
    card = log.locator('.tool-card[data-tool="lookup_po"]')
    expect(card.locator(".args")).to_contain_text('"number": "PO-12"')
    expect(card.locator(".result")).to_have_text('→ {"lines": 3, "open": true}')
    expect(card.locator(".duration")).to_have_text(re.compile(r"^ · \d+\.\d ms$"))
    expect(card.locator(".duration")).to_have_attribute("title", "node run_tool")
    expect(log.locator(".msg.ai")).to_have_text(PO_REPLY)
    screenshot(page, "chat")
    seen = page.evaluate("window.__seen")
    # Streamed: the reply grew through many partial texts, each a prefix of the next.
    assert len(seen) >= 5, seen
    assert all(PO_REPLY.startswith(part) for part in seen), seen
    thread_id = page.locator("#chat-thread").inner_text()
    client = get_sync_client(url=base_url)
    (run,) = client.runs.list(thread_id)
    assert run["status"] == "success"


def test_stop_cancels_the_running_run(page: Page, base_url: str) -> None:
    chat(page, "slow", "Tell me everything")
    expect(page.locator(".msg.ai.streaming")).to_contain_text("slow3")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#chat-status")).to_have_text("stopped")
    thread_id = page.locator("#chat-thread").inner_text()
    client = get_sync_client(url=base_url)
    (run,) = client.runs.list(thread_id)
    assert run["status"] == "interrupted"
    messages = client.threads.get_state(thread_id)["values"].get("messages", [])
    assert all(m["content"] != SLOW_REPLY for m in messages)


def test_script_in_a_message_is_shown_not_run(page: Page) -> None:
    chat(page, "echo", "<script>window.__ran = true</script><img src=x onerror='window.__ran=1'>")
    expect(page.locator("#chat-status")).to_have_text("done")
    expect(page.locator(".msg.human")).to_have_text(
        "<script>window.__ran = true</script><img src=x onerror='window.__ran=1'>"
    )
    assert page.evaluate("window.__ran") is None


def test_a_refresh_during_a_run_reattaches_after_its_last_event_and_loses_nothing(
    page: Page, base_url: str
) -> None:
    chat(page, "steady", "Count slowly")
    expect(page.locator(".msg.ai.streaming")).to_contain_text("steady5")
    expect(page).to_have_url(re.compile(r"thread="))
    joins: list[Request] = []
    page.on("request", lambda r: joins.append(r) if r.url.endswith("/stream") else None)
    page.reload()
    page.evaluate(RECORD)
    expect(page.locator("#chat-status")).to_have_text("done", timeout=30_000)
    # One join of the run's stream, after the last event the page had shown before the refresh.
    (join,) = joins
    assert join.method == "GET" and re.search(r"/runs/[0-9a-f-]+/stream$", join.url), join.url
    assert int(join.headers["last-event-id"]) > 1, join.headers
    # What was shown came back and the rest streamed after it: every text the bubble showed
    # after the refresh is a beginning of the reply (a token lost or repeated would break that).
    seen = page.evaluate("window.__seen")
    assert len(seen) >= 3 and all(STEADY_REPLY.startswith(part) for part in seen), seen
    assert seen[0].startswith("steady0 steady1 steady2 steady3 steady4 steady5"), seen[0]
    expect(page.locator(".msg.human")).to_have_text("Count slowly")
    expect(page.locator("#chat-log .msg.ai")).to_have_count(1)
    expect(page.locator("#chat-log .msg.ai")).to_have_text(STEADY_REPLY)
    thread_id = page.locator("#chat-thread").inner_text()
    client = get_sync_client(url=base_url)
    (run,) = client.runs.list(thread_id)
    assert run["status"] == "success"
    messages = client.threads.get_state(thread_id)["values"]["messages"]
    assert [m["content"] for m in messages if m["type"] == "ai"] == [STEADY_REPLY]


def test_a_refresh_in_another_tab_replays_the_run_from_its_first_event(
    page: Page, base_url: str
) -> None:
    chat(page, "steady", "Count again")
    expect(page.locator(".msg.ai.streaming")).to_contain_text("steady3")
    # A second tab on the same thread has no record of what was shown: it replays the run.
    other = page.context.new_page()
    joins: list[Request] = []
    other.on("request", lambda r: joins.append(r) if r.url.endswith("/stream") else None)
    other.goto(page.url)
    expect(other.locator(".msg.human")).to_have_text("Count again")
    expect(other.locator("#chat-status")).to_have_text("done", timeout=30_000)
    expect(other.locator("#chat-log .msg.ai")).to_have_text(STEADY_REPLY)
    (join,) = joins
    assert "last-event-id" not in join.headers, join.headers
    expect(page.locator("#chat-status")).to_have_text("done")
    expect(page.locator("#chat-log .msg.ai")).to_have_text(STEADY_REPLY)
    other.close()


def test_chat_with_a_model_role_streams_its_answer(page: Page) -> None:
    chat(page, "model_reply", "Where is my parcel?")
    expect(page.locator("#chat-status")).to_have_text("done")
    expect(page.locator("#chat-log .msg.ai")).to_have_text(MODEL_REPLY)
    seen = page.evaluate("window.__seen")
    assert len(seen) >= 3 and all(MODEL_REPLY.startswith(p.rstrip()) for p in seen), seen


def test_a_chat_run_that_stops_at_an_interrupt_links_to_its_review(page: Page) -> None:
    chat(page, "question", "May I?")
    expect(page.locator("#chat-status")).to_have_text("done")
    page.get_by_role("link", name="The run waits for a decision: review it").click()
    expect(page.locator("pre.json")).to_contain_text('"question": "approve?"')


class CuttingProxy:
    """A loopback TCP proxy in front of the server whose open connections can all be cut at
    once: a network drop as the browser sees it (Chromium's offline mode leaves an open
    stream alone)."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> int:
        """Drop every open connection; return how many sockets were closed."""
        with self._lock:
            doomed, self._open = self._open, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return len(doomed)

    def close(self) -> None:
        self._listener.close()
        self.cut()


def test_a_dropped_stream_reattaches_after_its_last_event_id(
    browser: Browser, base_url: str
) -> None:
    proxy = CuttingProxy(base_url)
    context = browser.new_context(base_url=proxy.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        chat(page, "steady", "Count through the drop")
        expect(page.locator(".msg.ai.streaming")).to_contain_text("steady5")
        joins: list[Request] = []
        page.on("request", lambda r: joins.append(r) if r.url.endswith("/stream") else None)
        assert proxy.cut() >= 2
        expect(page.locator("#chat-status")).to_have_text("done", timeout=30_000)
        # The page re-attached to the run's join stream (the Location the server named) after
        # the last event it had, and the reply grew on without a gap or a repeat.
        assert joins, "the page did not re-attach"
        join = joins[0]
        assert join.method == "GET" and re.search(r"/runs/[0-9a-f-]+/stream$", join.url)
        assert int(join.headers["last-event-id"]) > 1, join.headers
        seen = page.evaluate("window.__seen")
        assert all(STEADY_REPLY.startswith(part) for part in seen), seen
        expect(page.locator("#chat-log .msg.ai")).to_have_count(1)
        expect(page.locator("#chat-log .msg.ai")).to_have_text(STEADY_REPLY)
        expect(page.locator("[role=alert]:visible")).to_have_count(0)
        assert not errors, errors
    finally:
        context.close()
        proxy.close()
