"""MCP client connector: the tools of MCP servers (stdio or streamable HTTP) as graph tools,
through langchain-mcp-adapters, over one kept session per server. Declare servers in an
`MCPConfig`; `await mcp_tools(config)`; `await close_mcp_sessions()` at shutdown.

The config and the sessions' bookkeeping load with the package; `mcp_tools` and `effect_of`,
which need `mcp` and langchain-mcp-adapters (about 0.27 s to import), load on first use, so a
server with no MCP servers configured starts without them.
"""

from typing import TYPE_CHECKING, Any

from tools.mcp._config import MCPConfig, MCPServer
from tools.mcp._kept import MCPSessions, close_mcp_sessions, shared_sessions

if TYPE_CHECKING:
    from tools.mcp._tools import effect_of, mcp_tools

__all__ = [
    "MCPConfig",
    "MCPServer",
    "MCPSessions",
    "close_mcp_sessions",
    "effect_of",
    "mcp_tools",
    "shared_sessions",
]

_LOADED_ON_USE = ("effect_of", "mcp_tools")


def __getattr__(name: str) -> Any:
    if name in _LOADED_ON_USE:
        from tools.mcp import _tools

        return getattr(_tools, name)
    raise AttributeError(f"module 'tools.mcp' has no attribute {name!r}")
