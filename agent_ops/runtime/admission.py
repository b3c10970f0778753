"""The checks a run request passes before anything is queued, each naming the value it refuses.

Every reference in a request is checked against what it refers to (breakpoint nodes against the
graph, a checkpoint id against the thread's checkpoints, `as_node` against the graph), numbers
against their range, and a webhook URL against what a run may call: http(s) with a host, and no
loopback, private or link-local address unless the operator allowed them
(`AGENT_OPS_WEBHOOK_ALLOW_PRIVATE`), so a caller cannot point a run at the server's own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlsplit

from agent_ops.errors import InvalidInput
from agent_ops.runtime.registry import CompiledGraph
from agent_ops.runtime.requests import RunOptions
from agent_ops.values import Limits

MAX_RECURSION_LIMIT: Final = 10_000
STATE_UPDATE_NODES: Final = frozenset({"__start__", "__input__", "__copy__"})
"""What `as_node` may name besides the graph's nodes (LangGraph's own update_state values)."""


def check_run_sizes(limits: Limits, options: RunOptions) -> None:
    """Refuse a run whose input, command or context is larger than `limits` allow (413)."""
    for field, value in (
        ("input", options.input),
        ("command", options.command),
        ("context", options.context),
    ):
        limits.input(value, field)


def check_recursion_limit(config: dict[str, Any] | None) -> None:
    """Refuse a `config.recursion_limit` that is not a whole number in 1..10000."""
    if not config or "recursion_limit" not in config:
        return
    value = config["recursion_limit"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"config.recursion_limit must be a whole number, not {value!r}")
    if not 1 <= value <= MAX_RECURSION_LIMIT:
        raise InvalidInput(f"config.recursion_limit {value} is outside 1..{MAX_RECURSION_LIMIT}")


def check_nodes(
    graph: CompiledGraph,
    names: Iterable[str],
    field: str,
    *,
    graph_id: str,
    also: frozenset[str] = frozenset(),
) -> None:
    """Refuse node names the graph does not have (`*` means every node; `also` names special
    values the field accepts besides nodes)."""
    known = set(graph.nodes) - {"__start__"}
    unknown = [name for name in names if name != "*" and name not in known | also]
    if unknown:
        raise InvalidInput(
            f"{field}: {', '.join(map(repr, unknown))} is not a node of graph "
            f"{graph_id!r} (its nodes: {', '.join(sorted(known))})"
        )


def check_webhook(url: str, *, allow_private: bool) -> None:
    """Refuse a webhook URL that is not http(s) with a host, or names a non-public address
    literally (`localhost`, 10.x, 127.x, ::1 ...) when private targets are not allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port  # reading it validates it
    except ValueError as exc:
        raise InvalidInput(f"webhook {url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"webhook {url!r} must be an http:// or https:// URL with a host")
    del port
    if allow_private:
        return
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        raise InvalidInput(_private(url, host))
    address = _address(host)
    if address is not None and not address.is_global:
        raise InvalidInput(_private(url, host))


async def resolve_public(url: str, *, allow_private: bool) -> str | None:
    """Refuse, at delivery, a webhook whose host now resolves to a non-public address (a name
    can point anywhere after admission); return the checked address to connect to, so that a
    second look-up cannot swap in another (DNS rebinding). None when private targets are
    allowed: then the name is connected to as it resolves."""
    check_webhook(url, allow_private=allow_private)
    if allow_private:
        return None
    host = urlsplit(url).hostname or ""
    literal = _address(host)
    if literal is not None:
        return str(literal)
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global:
            raise InvalidInput(_private(url, f"{host} ({address})"))
    if not addresses:
        raise OSError(f"webhook host {host!r} resolves to no address")
    return str(addresses[0])


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _private(url: str, host: str) -> str:
    return (
        f"webhook {url!r} points at {host}, a loopback, private or link-local address; "
        "set AGENT_OPS_WEBHOOK_ALLOW_PRIVATE=true to allow internal targets"
    )
