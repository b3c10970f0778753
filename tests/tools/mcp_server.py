"""A small real MCP server for the MCP connector's tests (FastMCP from the `mcp` package).

    python -m tests.tools.mcp_server stdio
    python -m tests.tools.mcp_server http --port N

`record_note` appends to the file named by $MCP_NOTES_FILE, so a test can count the calls that
reached the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations

server = FastMCP("test-tools", log_level="WARNING")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def record_note(text: str) -> str:
    """Record a note (a side effect the test can count)."""
    with Path(os.environ["MCP_NOTES_FILE"]).open("a") as notes:
        notes.write(text + "\n")
    return f"recorded {text!r}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def refuse(reason: str) -> str:
    """Always fail with the given reason."""
    raise ToolError(f"refused: {reason}")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
async def wait(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "done"


@server.tool()
def drop_everything() -> str:
    """A tool no allow-list in the tests admits."""
    return "dropped"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.settings.port = args.port
        server.run("streamable-http")


if __name__ == "__main__":
    main()
