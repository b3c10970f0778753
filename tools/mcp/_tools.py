"""An MCP server's tools as graph tools: listed and converted by langchain-mcp-adapters, then
limited to the allow-list, marked read-only or side-effecting, and given a timeout, the retry
rule and ConnectorErrors.

Each call opens its own session (a child process for stdio, an HTTP session otherwise), as the
adapters do without a shared session: tools hold no open resources, and any worker or event loop
can call them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp.shared.exceptions import McpError

from agent_ops.errors import ConfigError, ConnectorRejected, ConnectorUnavailable
from tools.connector import Effect, RetryPolicy, TransientFailure, effect_marks, with_retries
from tools.mcp._config import ALL_TOOLS, MCPConfig, MCPServer


async def mcp_tools(config: MCPConfig) -> list[BaseTool]:
    """List each configured server's tools and return the allowed ones as LangChain tools.

    Raises ConnectorUnavailable when a server cannot be reached or does not answer in time,
    and ConfigError when an allowed tool is not offered or two tools share a name.
    """
    tools: list[BaseTool] = []
    for name, server in config.servers.items():
        tools.extend(await _server_tools(name, server))
    seen: dict[str, int] = {}
    for tool in tools:
        seen[tool.name] = seen.get(tool.name, 0) + 1
    if clashes := sorted(name for name, count in seen.items() if count > 1):
        raise ConfigError(f"MCP tools share names: {', '.join(clashes)}; set prefix: true")
    return tools


async def _server_tools(name: str, server: MCPServer) -> list[BaseTool]:
    system = f"mcp:{name}"
    deadline = asyncio.timeout(server.timeout)
    try:
        async with deadline:
            offered = await load_mcp_tools(
                None, connection=server.connection(), server_name=name, handle_tool_errors=False
            )
    except Exception as exc:
        failure = _transient(exc, server.timeout, expired=deadline.expired())
        raise ConnectorUnavailable(
            f"MCP server {name!r} ({server.transport} {server.target()}) could not list its "
            f"tools: {failure}",
            system=system,
            url=server.target(),
        ) from exc
    names = {tool.name for tool in offered}
    if ALL_TOOLS not in server.allowed_tools and (
        missing := sorted(set(server.allowed_tools) - names)
    ):
        raise ConfigError(
            f"MCP server {name!r} offers no tool {', '.join(missing)}; it offers: "
            f"{', '.join(sorted(names)) or 'nothing'}"
        )
    return [_wrap(name, server, tool) for tool in offered if server.allows(tool.name)]


def effect_of(server: MCPServer, tool: BaseTool) -> Effect:
    """The configured effect, else the server's readOnlyHint (if trusted), else `write`."""
    if tool.name in server.effects:
        return server.effects[tool.name]
    hints = tool.metadata or {}
    if server.trust_annotations and hints.get("readOnlyHint") is True:
        return "read"
    return "write"


def _wrap(server_name: str, server: MCPServer, tool: BaseTool) -> BaseTool:
    if not isinstance(tool, StructuredTool) or tool.coroutine is None:
        raise TypeError(f"langchain-mcp-adapters built {type(tool).__name__}, not a StructuredTool")
    call_adapter = tool.coroutine
    effect = effect_of(server, tool)
    system = f"mcp:{server_name}"
    policy = RetryPolicy(attempts=server.attempts, backoff=server.backoff)
    label = f"MCP server {server_name!r} tool {tool.name!r}"

    async def once(arguments: dict[str, Any]) -> Any:
        deadline = asyncio.timeout(server.timeout)
        try:
            async with deadline:
                return await call_adapter(**arguments)
        except ToolException as exc:  # the server answered with isError: its own message
            raise ConnectorRejected(
                f"{label} failed: {exc}", system=system, url=server.target(), status=422
            ) from exc
        except Exception as exc:
            raise _transient(exc, server.timeout, expired=deadline.expired()) from exc

    async def call(**arguments: Any) -> Any:
        try:
            return await with_retries(lambda: once(arguments), effect=effect, policy=policy)
        except TransientFailure as failure:
            raise ConnectorUnavailable(
                f"{label} ({server.transport} {server.target()}): {failure}",
                system=system,
                url=server.target(),
            ) from failure

    metadata, tags = effect_marks(effect, system)
    metadata |= {"mcp_server": server_name, "mcp_tool": tool.name, "annotations": tool.metadata}
    return StructuredTool(
        name=f"{server_name}_{tool.name}" if server.prefix else tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        coroutine=call,
        response_format="content_and_artifact",
        metadata=metadata,
        tags=tags,
    )


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _transient(exc: Exception, timeout: float, *, expired: bool) -> TransientFailure:
    """Say why a session failed, and whether the request can have reached the server.

    The MCP client reports transport failures inside (nested) exception groups, and a
    cancelled session may surface as a broken stream rather than a TimeoutError, hence
    `expired`. Anything that is not a transport failure is a bug and is raised as it is.
    """
    leaves = _leaves(exc)
    if expired or any(isinstance(leaf, TimeoutError) for leaf in leaves):
        return TransientFailure(f"no answer within {timeout:g}s", sent=True)
    unsent = (FileNotFoundError, PermissionError, httpx.ConnectError, httpx.ConnectTimeout)
    if all(isinstance(leaf, unsent) for leaf in leaves):
        detail = "; ".join(f"{type(leaf).__name__}: {leaf}" for leaf in leaves)
        return TransientFailure(f"cannot start or reach it ({detail})", sent=False)
    transport = (McpError, httpx.TransportError, httpx.HTTPStatusError, OSError)
    broken = [leaf for leaf in leaves if isinstance(leaf, transport)]
    if broken or all(type(leaf).__module__.startswith("anyio") for leaf in leaves):
        detail = "; ".join(f"{type(leaf).__name__}: {leaf}" for leaf in broken or leaves)
        return TransientFailure(f"the session broke ({detail})", sent=True)
    raise exc
