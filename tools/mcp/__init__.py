"""MCP client connector: the tools of MCP servers (stdio or streamable HTTP) as graph tools,
through langchain-mcp-adapters. Declare servers in an `MCPConfig`; `await mcp_tools(config)`.
"""

from tools.mcp._config import MCPConfig, MCPServer
from tools.mcp._tools import effect_of, mcp_tools

__all__ = ["MCPConfig", "MCPServer", "effect_of", "mcp_tools"]
