"""The kept sessions to MCP servers, one per configured server and event loop.

A stdio server is one long-lived child process, an HTTP server one MCP session. `mcp_tools` uses
the running event loop's shared sessions unless given its own; `close_mcp_sessions` closes the
shared ones (the runtime does at shutdown). Nothing here imports `mcp`: a process that never
opens a session (most have no MCP servers) does not pay its import (about 0.27 s of start-up).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from types import TracebackType
from typing import TYPE_CHECKING

from tools.mcp._config import MCPServer

if TYPE_CHECKING:
    from tools.mcp._session import KeptSession

log = logging.getLogger(__name__)


class MCPSessions:
    """The kept sessions to MCP servers, one per configured server, for one event loop.

    Use it as `async with MCPSessions() as sessions`, or close it with `aclose()`.
    """

    def __init__(self) -> None:
        self._kept: list[KeptSession] = []

    def session(self, name: str, server: MCPServer) -> KeptSession:
        """The kept session for this server; a changed config gets a session of its own."""
        for kept in self._kept:
            if kept.name == name and kept.server == server:
                return kept
        from tools.mcp._session import KeptSession  # imports mcp: only once one is opened

        kept = KeptSession(name, server)
        self._kept.append(kept)
        return kept

    def __len__(self) -> int:
        return len(self._kept)

    async def aclose(self) -> None:
        """Close every session (stdio servers exit) and forget them."""
        kept, self._kept = self._kept, []
        await asyncio.gather(*(session.aclose() for session in kept))

    async def __aenter__(self) -> MCPSessions:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MCPSessions] = (
    weakref.WeakKeyDictionary()
)


def shared_sessions() -> MCPSessions:
    """The running event loop's shared sessions (what `mcp_tools` uses by default)."""
    loop = asyncio.get_running_loop()
    if loop not in _shared:
        _shared[loop] = MCPSessions()
    return _shared[loop]


async def close_mcp_sessions() -> None:
    """Close the running event loop's shared sessions (at shutdown)."""
    sessions = _shared.pop(asyncio.get_running_loop(), None)
    if sessions is not None and (count := len(sessions)):
        await sessions.aclose()
        log.info("closed the kept sessions to %d MCP servers", count)
