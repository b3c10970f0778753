"""Which webhook targets a run may name: http(s) with a host, public addresses unless allowed."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from agent_ops import InvalidInput
from agent_ops.runtime.admission import check_webhook, resolve_public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "https://10.1.2.3/hook",
        "http://192.168.0.7/hook",
        "http://169.254.169.254/latest/meta-data",  # the cloud metadata service
        "http://[::1]:8080/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_and_loopback_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(InvalidInput, match="AGENT_OPS_WEBHOOK_ALLOW_PRIVATE"):
        check_webhook(url, allow_private=False)
    check_webhook(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["::::", "file:///etc/passwd", "ftp://example.com/x", "http://", "http://h:99999/"]
)
def test_urls_that_are_not_http_with_a_host_are_refused_even_when_private_is_allowed(
    url: str,
) -> None:
    with pytest.raises(InvalidInput, match="webhook"):
        check_webhook(url, allow_private=True)


def test_public_targets_pass() -> None:
    check_webhook("https://hooks.example.com/agent-ops?x=1", allow_private=False)
    check_webhook("http://93.184.215.14:8080/hook", allow_private=False)


async def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery() -> None:
    # The machine's own name passes the literal check; what it resolves to decides.
    host = socket.gethostname()
    addresses = {ipaddress.ip_address(i[4][0]) for i in socket.getaddrinfo(host, None)}
    private = [a for a in addresses if not a.is_global]
    assert private, f"{host} resolves only to public addresses here: {addresses}"
    with pytest.raises(InvalidInput, match=str(private[0]).replace(".", r"\.")):
        await resolve_public(f"http://{host}:9/hook", allow_private=False)
    await resolve_public(f"http://{host}:9/hook", allow_private=True)
