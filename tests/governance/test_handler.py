"""A LangGraph app's own auth handler, declared in its langgraph.json, honoured; one that cannot
be used stops start-up instead of leaving the server open."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.governance.conftest import handler_config, one_error_line, serve_once
from tests.servers import AgentOpsProcess


def _client(server: AgentOpsProcess, token: str | None = None) -> LangGraphClient:
    assert server.url is not None
    return get_client(url=server.url, api_key=token)


async def test_handler_refusal_is_its_own_status_and_detail(
    handler_server: AgentOpsProcess,
) -> None:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await _client(handler_server).threads.search()
    assert caught.value.response.status_code == 401
    assert "no user for POST /threads/search" in caught.value.response.json()["detail"]


async def test_handler_user_role_decides_and_names_the_approver(
    handler_server: AgentOpsProcess,
) -> None:
    victor = _client(handler_server, "t-victor")  # permissions ["viewer"]
    assert isinstance(await victor.threads.search(), list)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await victor.threads.create()
    assert caught.value.response.status_code == 403
    olga = _client(handler_server, "t-olga")  # no role: AGENT_OPS_AUTH_HANDLER_ROLE (operator)
    tid = (await olga.threads.create())["thread_id"]
    await olga.runs.wait(tid, "approve", input={"messages": []})
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await olga.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    assert caught.value.response.status_code == 403
    alice = _client(handler_server, "t-alice")  # role approver
    done = await alice.runs.wait(tid, "approve", command={"resume": {"type": "accept"}})
    assert "'by': 'alice'" in done["messages"][-1]["content"]
    # The user's tenant counts: one without a tenant is in the default one, not acme.
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await _client(handler_server, "t-nobody").threads.get(tid)
    assert caught.value.response.status_code == 404


def test_handler_that_does_not_import_stops_startup(tmp_path: Path) -> None:
    config = handler_config(tmp_path, "import no_such_auth_library\n")
    line = one_error_line(serve_once(tmp_path, config=config))
    assert "auth handler ./auth.py:auth" in line and "no_such_auth_library" in line


def test_handler_that_is_not_an_auth_object_stops_startup(tmp_path: Path) -> None:
    config = handler_config(tmp_path, "auth = 'open sesame'\n")
    assert "not a langgraph_sdk.Auth object" in one_error_line(serve_once(tmp_path, config=config))
