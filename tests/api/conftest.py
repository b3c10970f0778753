"""One real agent-ops server per backend for the API suite, driven only through langgraph-sdk."""

from __future__ import annotations

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.servers import AgentOpsProcess, server_per_backend

api_server = server_per_backend(
    "api",
    {
        "AGENT_OPS_WORKERS": "8",
        "AGENT_OPS_STATELESS_RETENTION_SECONDS": "1",
        # The webhook tests post to a receiver on loopback, which production refuses.
        "AGENT_OPS_WEBHOOK_ALLOW_PRIVATE": "true",
    },
)


@pytest.fixture
def url(api_server: AgentOpsProcess) -> str:
    assert api_server.url is not None
    return api_server.url


async def new_thread(url: str) -> tuple[LangGraphClient, str]:
    """A client of the server at `url`, and the id of a thread it has just created."""
    client = get_client(url=url)
    thread = await client.threads.create()
    return client, thread["thread_id"]
