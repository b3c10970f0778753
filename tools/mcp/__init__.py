"""MCP client connector: the tools of MCP servers (stdio or streamable HTTP) as graph tools,
through langchain-mcp-adapters, over one kept session per server. Declare servers in an
`MCPConfig`; `await mcp_tools(config)`; `await close_mcp_sessions()` at shutdown.
"""

from tools.mcp._config import MCPConfig, MCPServer
from tools.mcp._tools import (
    MCPSessions,
    close_mcp_sessions,
    effect_of,
    mcp_tools,
    shared_sessions,
)

__all__ = [
    "MCPConfig",
    "MCPServer",
    "MCPSessions",
    "close_mcp_sessions",
    "effect_of",
    "mcp_tools",
    "shared_sessions",
]
