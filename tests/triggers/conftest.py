"""Fixtures for triggers: runtimes in this process on each backend's fresh database (one per
simulated server process), and a real `agent-ops serve` per backend for the HTTP tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from agent_ops.runtime import GraphRegistry, Runtime
from agent_ops.settings import Settings
from agent_ops.storage import create_storage
from tests.api.conftest import BACKENDS, fresh_database
from tests.servers import AgentOpsProcess

GRAPHS = Path(__file__).parent / "langgraph.json"

StartRuntime = Callable[..., Awaitable[Runtime]]


@pytest.fixture(scope="session")
def registry() -> GraphRegistry:
    return GraphRegistry.load(GRAPHS)


@pytest.fixture
async def start_runtime(database_url: str, registry: GraphRegistry) -> AsyncIterator[StartRuntime]:
    """Start runtimes without workers (one per simulated process) on the test's database."""
    started: list[Runtime] = []

    async def start() -> Runtime:
        settings = Settings(database_url=database_url, workers=0, config=GRAPHS)
        runtime = Runtime(settings, create_storage(database_url), registry)
        await runtime.start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        await runtime.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def hook_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    """A real server of the collector graph, with workers, per backend."""
    folder: Path = tmp_path_factory.mktemp(f"triggers-{request.param}")
    server = AgentOpsProcess(
        fresh_database(request, folder, "triggers"),
        folder,
        config=GRAPHS,
        env={"AGENT_OPS_POLL_SECONDS": "0.5", "AGENT_OPS_WORKERS": "4"},
        name=f"triggers-{request.param}",
    )
    server.start()
    yield server
    server.stop()
    if os.environ.get("AGENT_OPS_SHOW_SERVER_LOG"):
        print(server.log())
