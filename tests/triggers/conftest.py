"""Fixtures for triggers: runtimes in this process on each backend's fresh database (one per
simulated server process), and a real `agent-ops serve` per backend for the HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agent_ops.runtime import GraphRegistry
from tests.runtimes import StartRuntime, started_runtimes
from tests.servers import BACKENDS, AgentOpsProcess, new_server, serving

GRAPHS = Path(__file__).parent / "langgraph.json"


@pytest.fixture(scope="session")
def registry() -> GraphRegistry:
    return GraphRegistry.load(GRAPHS)


@pytest.fixture
async def start_runtime(database_url: str, registry: GraphRegistry) -> AsyncIterator[StartRuntime]:
    """Start runtimes without workers (one per simulated process) on the test's database."""
    async with started_runtimes(database_url, GRAPHS, registry) as start:
        yield start


@pytest.fixture(scope="module", params=BACKENDS)
def hook_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    """A real server of the collector graph, with workers, per backend."""
    env = {"AGENT_OPS_WORKERS": "4"}
    with serving(
        new_server(tmp_path_factory, "triggers", env, request=request, config=GRAPHS)
    ) as server:
        yield server
