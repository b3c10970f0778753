"""One real agent-ops server per backend for the API suite, driven only through langgraph-sdk."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import AgentOpsProcess

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def fresh_database(request: pytest.FixtureRequest, folder: Path, prefix: str) -> str:
    """A new database on the backend the fixture is parametrised with: its URL."""
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        url: str = cluster.create_database(f"{prefix}_{uuid.uuid4().hex}")
        return url
    return f"sqlite:///{folder}/agent-ops.db"


@pytest.fixture(scope="session", params=BACKENDS)
def api_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    folder: Path = tmp_path_factory.mktemp(f"api-{request.param}")
    server = AgentOpsProcess(
        fresh_database(request, folder, "api"),
        folder,
        env={
            "AGENT_OPS_POLL_SECONDS": "0.5",
            "AGENT_OPS_WORKERS": "8",
            "AGENT_OPS_STATELESS_RETENTION_SECONDS": "1",
            # The webhook tests post to a receiver on loopback, which production refuses.
            "AGENT_OPS_WEBHOOK_ALLOW_PRIVATE": "true",
        },
        name=f"api-{request.param}",
    )
    server.start()
    yield server
    server.stop()
    if os.environ.get("AGENT_OPS_SHOW_SERVER_LOG"):
        print(server.log())


@pytest.fixture
def url(api_server: AgentOpsProcess) -> str:
    assert api_server.url is not None
    return api_server.url
