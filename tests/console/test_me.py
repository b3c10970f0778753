"""`GET /me` through real uvicorn: the caller's identity for each role of the ladder, 401
without credentials when authentication is on, and what an unauthenticated loopback server says
of its callers. The console reads it to show or hide actions; the server still refuses them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.governance.conftest import create_key, keys_server
from tests.servers import AgentOpsProcess

__all__ = ["keys_server"]  # the governance suite's API-key server, on both backends

LADDER = {
    "viewer": {"read": True, "run": False, "approve": False, "admin": False},
    "operator": {"read": True, "run": True, "approve": False, "admin": False},
    "approver": {"read": True, "run": True, "approve": True, "admin": False},
    "admin": {"read": True, "run": True, "approve": True, "admin": True},
}


def _me(server: AgentOpsProcess, **headers: str) -> httpx.Response:
    assert server.url is not None
    return httpx.get(f"{server.url}/me", headers=headers, timeout=30)


@pytest.mark.parametrize("role", list(LADDER))
def test_me_names_the_key_its_tenant_and_role(keys_server: AgentOpsProcess, role: str) -> None:
    key = create_key(keys_server, "acme", role, "--name", f"console {role}")
    answer = _me(keys_server, **{"x-api-key": key["key"]})
    assert answer.status_code == 200, answer.text
    me: dict[str, Any] = answer.json()
    assert me["subject"] == f"key:{key['key_id']}"
    assert me["display_name"] == f"console {role}"
    assert (me["tenant"], me["role"], me["auth"], me["via"]) == ("acme", role, "keys", "key")
    assert me["can"] == LADDER[role]


def test_me_without_a_key_is_401_naming_the_headers(keys_server: AgentOpsProcess) -> None:
    answer = _me(keys_server)
    assert answer.status_code == 401
    assert "X-Api-Key" in answer.json()["detail"]


def test_me_agrees_with_what_the_server_enforces(keys_server: AgentOpsProcess) -> None:
    """A viewer is told it may not run, and the server indeed refuses its run (403)."""
    viewer = create_key(keys_server, "acme", "viewer")["key"]
    assert _me(keys_server, **{"x-api-key": viewer}).json()["can"]["run"] is False
    assert keys_server.url is not None
    refused = httpx.post(
        f"{keys_server.url}/runs/wait",
        json={"assistant_id": "approve", "input": {}},
        headers={"x-api-key": viewer},
        timeout=30,
    )
    assert refused.status_code == 403 and "'operator'" in refused.json()["detail"]


def test_me_with_authentication_off_says_every_caller_is_admin(
    console_server: AgentOpsProcess,
) -> None:
    answer = _me(console_server, **{"x-api-key": "aok_ignored_when_auth_is_off"})
    assert answer.status_code == 200
    me = answer.json()
    assert (me["auth"], me["role"], me["tenant"], me["via"]) == ("off", "admin", "default", None)
    assert me["can"] == LADDER["admin"]
