"""An MCP server's tools as graph tools: listed and converted by langchain-mcp-adapters, then
limited to the allow-list, marked read-only or side-effecting, and given a timeout, the retry
rule and ConnectorErrors.

Calls go over one kept session per server (`MCPSessions`, in `_kept`), opened on first use. This
module imports `mcp` and langchain-mcp-adapters, so the package loads it only when a graph asks
for MCP tools (see `tools/mcp/__init__.py`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp import ClientSession

from agent_ops.errors import ConfigError, ConnectorRejected, ConnectorUnavailable
from tools.connector import (
    Effect,
    RetryPolicy,
    TransientFailure,
    effect_marks,
    governed,
    with_retries,
)
from tools.mcp._config import ALL_TOOLS, MCPConfig, MCPServer
from tools.mcp._kept import MCPSessions, shared_sessions
from tools.mcp._session import KeptSession, describe_failure

log = logging.getLogger(__name__)


async def mcp_tools(config: MCPConfig, sessions: MCPSessions | None = None) -> list[BaseTool]:
    """List each configured server's tools and return the allowed ones as LangChain tools,
    calling over `sessions` (default: the running event loop's shared sessions).

    Raises ConnectorUnavailable when a server cannot be reached or does not answer in time,
    and ConfigError when an allowed tool is not offered or two tools share a name.
    """
    if sessions is None:
        sessions = shared_sessions()
    tools: list[BaseTool] = []
    for name, server in config.servers.items():
        tools.extend(await _server_tools(sessions.session(name, server)))
    seen: dict[str, int] = {}
    for tool in tools:
        seen[tool.name] = seen.get(tool.name, 0) + 1
    if clashes := sorted(name for name, count in seen.items() if count > 1):
        raise ConfigError(f"MCP tools share names: {', '.join(clashes)}; set prefix: true")
    return tools


async def _server_tools(kept: KeptSession) -> list[BaseTool]:
    name, server = kept.name, kept.server
    deadline = asyncio.timeout(server.timeout)
    try:
        async with deadline:
            # the kept session stands in for a ClientSession: the adapters list and call
            # through its list_tools and call_tool
            offered = await load_mcp_tools(
                cast(ClientSession, kept), server_name=name, handle_tool_errors=False
            )
    except Exception as exc:
        failure = describe_failure(exc, server.timeout, expired=deadline.expired())
        raise ConnectorUnavailable(
            f"MCP server {name!r} ({server.transport} {server.target()}) could not list its "
            f"tools: {failure}",
            system=f"mcp:{name}",
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
        except TransientFailure:  # the kept session knows whether the call was sent
            raise
        except ToolException as exc:  # the server answered with isError: its own message
            raise ConnectorRejected(
                f"{label} failed: {exc}", system=system, url=server.target(), status=422
            ) from exc
        except Exception as exc:
            raise describe_failure(exc, server.timeout, expired=deadline.expired()) from exc

    async def call(**arguments: Any) -> Any:
        try:
            return await with_retries(lambda: once(arguments), effect=effect, policy=policy)
        except TransientFailure as failure:
            unknown = (
                "; it may or may not have run (not repeated: it has side effects)"
                if effect == "write" and failure.sent
                else ""
            )
            raise ConnectorUnavailable(
                f"{label} ({server.transport} {server.target()}): {failure}{unknown}",
                system=system,
                url=server.target(),
            ) from failure

    metadata, tags = effect_marks(effect, system)
    metadata |= {"mcp_server": server_name, "mcp_tool": tool.name, "annotations": tool.metadata}
    name = f"{server_name}_{tool.name}" if server.prefix else tool.name
    return StructuredTool(
        name=name,
        description=tool.description,
        args_schema=tool.args_schema,
        coroutine=governed(call, name=name, system=system) if effect == "write" else call,
        response_format="content_and_artifact",
        metadata=metadata,
        tags=tags,
    )
