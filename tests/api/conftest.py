"""One real agent-ops server per backend for the API suite, driven only through langgraph-sdk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.servers import BACKENDS, AgentOpsProcess, new_server, serving


@pytest.fixture(scope="session", params=BACKENDS)
def api_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    env = {
        "AGENT_OPS_WORKERS": "8",
        "AGENT_OPS_STATELESS_RETENTION_SECONDS": "1",
        # The webhook tests post to a receiver on loopback, which production refuses.
        "AGENT_OPS_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    with serving(new_server(tmp_path_factory, "api", env, request=request)) as server:
        yield server


@pytest.fixture
def url(api_server: AgentOpsProcess) -> str:
    assert api_server.url is not None
    return api_server.url


async def new_thread(url: str) -> tuple[LangGraphClient, str]:
    """A client of the server at `url`, and the id of a thread it has just created."""
    client = get_client(url=url)
    thread = await client.threads.create()
    return client, thread["thread_id"]
