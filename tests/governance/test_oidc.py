"""OIDC bearer tokens, signed by a local provider whose JWKS a tiny HTTP server publishes."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.governance.conftest import Provider, oidc_env, start
from tests.servers import AgentOpsProcess


def _client(server: AgentOpsProcess, token: str) -> LangGraphClient:
    assert server.url is not None
    return get_client(url=server.url, headers={"Authorization": f"Bearer {token}"})


async def _refused(server: AgentOpsProcess, token: str) -> tuple[int, str]:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await _client(server, token).threads.search()
    return caught.value.response.status_code, caught.value.response.json()["detail"]


async def test_token_of_the_provider_is_accepted_with_its_role(
    oidc_server: AgentOpsProcess, provider: Provider
) -> None:
    viewer = _client(oidc_server, provider.token(role="viewer"))
    assert isinstance(await viewer.threads.search(), list)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await viewer.threads.create()
    assert caught.value.response.status_code == 403
    # A list of roles counts as its highest.
    operator = _client(oidc_server, provider.token(role=["viewer", "operator"]))
    assert (await operator.threads.create())["thread_id"]


async def test_expired_token_is_401(oidc_server: AgentOpsProcess, provider: Provider) -> None:
    stale = provider.token(exp=int(time.time()) - 60)
    assert await _refused(oidc_server, stale) == (401, "the bearer token has expired")


async def test_token_signed_by_another_key_is_401(
    oidc_server: AgentOpsProcess, provider: Provider
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, detail = await _refused(oidc_server, provider.token(key=other))
    assert status == 401 and "Signature verification failed" in detail


async def test_token_for_another_audience_or_issuer_is_401(
    oidc_server: AgentOpsProcess, provider: Provider
) -> None:
    status, detail = await _refused(oidc_server, provider.token(aud="someone-else"))
    assert status == 401 and "audience" in detail.lower()
    status, detail = await _refused(oidc_server, provider.token(iss="https://evil.example"))
    assert status == 401 and "issuer" in detail.lower()


async def test_token_without_role_is_403_naming_the_claim(
    oidc_server: AgentOpsProcess, provider: Provider
) -> None:
    status, detail = await _refused(oidc_server, provider.token(role=None))
    assert status == 403 and "claim 'role'" in detail


async def test_api_key_header_is_not_a_token(oidc_server: AgentOpsProcess) -> None:
    assert oidc_server.url is not None
    client = get_client(url=oidc_server.url, api_key="aok_0000000000000000_" + "x" * 43)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.threads.search()
    assert caught.value.response.status_code == 401


@pytest.fixture(params=["sqlite"])
def unreachable_jwks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[AgentOpsProcess, str]:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/jwks.json"
    return start(request, tmp_path_factory, "oidc-down", oidc_env(url)), url


async def test_unreachable_jwks_is_503_naming_its_url(
    unreachable_jwks: tuple[AgentOpsProcess, str], provider: Provider
) -> None:
    server, url = unreachable_jwks
    status, detail = await _refused(server, provider.token())
    assert status == 503 and url in detail
