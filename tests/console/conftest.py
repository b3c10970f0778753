"""One agent-ops server and one headless Chromium for the whole console suite (package-scoped:
both stop when the suite ends).

The browser is Debian's `chromium` driven by Playwright with its executable path set: no
browser download. The server is a real `agent-ops serve` (uvicorn) on a loopback port.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import checked_page, chromium
from tests.models.fakes import scripted_chat
from tests.servers import AgentOpsProcess

CONFIG = Path(__file__).parent / "langgraph.json"
PROMPTS = Path(__file__).parents[2] / "prompts"


MODEL_REPLY = "Your parcel left the depot this morning."


@pytest.fixture(scope="package")
def console_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    folder = tmp_path_factory.mktemp("console")
    # SQLite by default (the pages touch no storage); AGENT_OPS_CONSOLE_BACKEND=postgres runs the
    # suite against PostgreSQL instead.
    if os.environ.get("AGENT_OPS_CONSOLE_BACKEND") == "postgres":
        database = request.getfixturevalue("pg_cluster").create_database("console")
    else:
        database = f"sqlite:///{folder}/agent-ops.db"
    # The `respond` role of `model_reply` answers from a scripted OpenAI-compatible endpoint
    # (outside the system), so its calls land in the decision log the timeline shows.
    with scripted_chat([MODEL_REPLY] * 20) as chat:
        models = folder / "models.yaml"
        models.write_text(
            "roles:\n"
            "  respond:\n"
            '    providers: ["openai:scripted"]\n'
            "    prompt: respond\n"
            "    retries: 0\n"
            "providers:\n"
            f"  openai:scripted: {{base_url: '{chat.url}', model: scripted-gpt}}\n"
        )
        server = AgentOpsProcess(
            database,
            folder,
            config=CONFIG,
            env={
                "AGENT_OPS_POLL_SECONDS": "0.5",
                "AGENT_OPS_WORKERS": "4",
                "AGENT_OPS_MODELS_CONFIG": str(models),
                "AGENT_OPS_PROMPTS_DIR": str(PROMPTS),
            },
            name="console",
        )
        server.start()
        yield server
        server.stop()


@pytest.fixture(scope="package")
def base_url(console_server: AgentOpsProcess) -> str:
    assert console_server.url is not None
    return console_server.url


# Package scope, not session: Playwright's sync API keeps an event loop running on this thread
# while it is open, which would break every async test that runs after this package.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="package")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests keep their screenshots: AGENT_OPS_ARTIFACTS, else the session's tmp."""
    wanted = os.environ.get("AGENT_OPS_ARTIFACTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(artefacts: Path) -> Callable[[Page, str], Path]:
    """Save the page as `<name>.png` among the artefacts (the README shows them)."""

    def save(page: Page, name: str) -> Path:
        path = artefacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def page(browser: Browser, base_url: str, tmp_path: Path) -> Iterator[Page]:
    """A fresh page; a failing test leaves its screenshot and the browser console beside it."""
    with checked_page(browser, base_url, tmp_path) as page:
        yield page
