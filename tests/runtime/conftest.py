"""Fixtures for runtime tests: real agent-ops processes on a fresh database of each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import AgentOpsProcess

FAST_LEASES = {
    "AGENT_OPS_LEASE_SECONDS": "1.0",
    "AGENT_OPS_HEARTBEAT_SECONDS": "0.2",
    "AGENT_OPS_POLL_SECONDS": "0.1",
}


@pytest.fixture
def processes(database_url: str, tmp_path: Path) -> Iterator[Callable[..., AgentOpsProcess]]:
    """Start agent-ops processes on the test's database; all are stopped afterwards."""
    started: list[AgentOpsProcess] = []

    def start(command: str = "serve", **env: str) -> AgentOpsProcess:
        proc = AgentOpsProcess(
            database_url,
            tmp_path,
            command=command,
            env={**FAST_LEASES, **env},
            name=f"{command}-{len(started)}",
        )
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder
