"""A small real MCP server for the MCP connector's tests (FastMCP from the `mcp` package).

    python -m tests.tools.mcp_server stdio
    python -m tests.tools.mcp_server http --port N

`record_note` appends to the file named by $MCP_NOTES_FILE, so a test can count the calls that
reached the server; `whoami` names the server process and session, so a test can tell sessions
apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from mcp.server.fastmcp import Context, FastMCP
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


@server.tool()
async def record_note_slowly(text: str, seconds: float) -> str:
    """Record a note, then take `seconds` to answer (a test kills the server meanwhile)."""
    await asyncio.to_thread(record_note, text)
    await asyncio.sleep(seconds)
    return f"recorded {text!r}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def whoami(ctx: Context) -> dict[str, int]:
    """The server's process id, and which of its MCP sessions this call came over."""
    return {"pid": os.getpid(), "session": id(ctx.session)}


_meetings: dict[str, tuple[list[int], asyncio.Event]] = {}


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
async def meet(meeting: str, count: int) -> int:
    """Answer once `count` calls to this meeting are in progress at the same time (else fail
    after 20 s), with the server's process id."""
    arrived, everyone = _meetings.setdefault(meeting, ([], asyncio.Event()))
    arrived.append(1)
    if len(arrived) >= count:
        everyone.set()
    try:
        await asyncio.wait_for(everyone.wait(), timeout=20)
    except TimeoutError:
        raise ToolError(f"only {len(arrived)} of {count} calls met") from None
    return os.getpid()


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
