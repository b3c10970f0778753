"""Start-up rules of authentication: off only on loopback (and said loudly), settings it needs
named when missing; and what every server does with a request: CORS, malformed bodies."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.governance.conftest import one_error_line, serve_once, start
from tests.servers import AgentOpsProcess


def test_non_loopback_bind_without_auth_refuses_to_start_naming_the_setting(
    tmp_path: Path,
) -> None:
    line = one_error_line(serve_once(tmp_path, "--host", "0.0.0.0", AGENT_OPS_AUTH="off"))
    assert "0.0.0.0" in line and "AGENT_OPS_AUTH=off" in line


def test_keys_without_a_secret_refuse_to_start_naming_it(tmp_path: Path) -> None:
    line = one_error_line(serve_once(tmp_path, AGENT_OPS_AUTH="keys"))
    assert "AGENT_OPS_AUTH_SECRET" in line


def test_short_secret_is_refused_with_its_length(tmp_path: Path) -> None:
    result = serve_once(tmp_path, AGENT_OPS_AUTH="keys", AGENT_OPS_AUTH_SECRET="hunter2")
    assert result.returncode == 2 and "7 characters" in result.stderr


def test_oidc_without_its_settings_refuses_to_start_naming_them(tmp_path: Path) -> None:
    line = one_error_line(serve_once(tmp_path, AGENT_OPS_AUTH="oidc"))
    assert "AGENT_OPS_OIDC_ISSUER" in line and "AGENT_OPS_OIDC_JWKS_URL" in line


@pytest.fixture(scope="module", params=["sqlite"])
def open_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    env = {"AGENT_OPS_AUTH": "off", "AGENT_OPS_CORS_ALLOW_ORIGINS": "https://console.example"}
    return start(request, tmp_path_factory, "open", env)


def test_auth_off_on_loopback_is_logged_as_a_warning(open_server: AgentOpsProcess) -> None:
    warned = [line for line in open_server.log().splitlines() if "AUTHENTICATION IS OFF" in line]
    assert len(warned) == 1 and "WARNING" in warned[0]


async def test_cors_allows_only_the_configured_origins(open_server: AgentOpsProcess) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    async with httpx.AsyncClient(base_url=str(open_server.url)) as http:
        allowed = await http.options(
            "/threads/search", headers={"Origin": "https://console.example", **preflight}
        )
        other = await http.options(
            "/threads/search", headers={"Origin": "https://evil.example", **preflight}
        )
    assert allowed.headers["access-control-allow-origin"] == "https://console.example"
    assert "access-control-allow-origin" not in other.headers


async def test_post_with_a_non_json_content_type_is_422_not_500(
    open_server: AgentOpsProcess,
) -> None:
    async with httpx.AsyncClient(base_url=str(open_server.url)) as http:
        answer = await http.post(
            "/threads", content=b"\xff\xfenot json", headers={"Content-Type": "text/plain"}
        )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["errors"][0]["loc"] == ["body"] and isinstance(body["errors"][0]["input"], str)
