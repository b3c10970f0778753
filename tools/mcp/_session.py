"""One kept MCP session per server: opened on first use, shared by concurrent calls, replaced
after the server goes away, closed with its owner.

MCP multiplexes requests by id on one session, so calls never wait for each other; only opening
is done once for every caller that waits. `KeptSession` offers the two `ClientSession` methods
that langchain-mcp-adapters uses (`list_tools`, `call_tool`), and tells through
`TransientFailure.sent` whether a failed call can have reached the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import httpx
from langchain_mcp_adapters.sessions import create_session
from mcp import ClientSession
from mcp.shared.exceptions import McpError
from mcp.shared.session import ProgressFnT
from mcp.types import CONNECTION_CLOSED, CallToolResult, ListToolsResult, PaginatedRequestParams

from tools.connector import TransientFailure
from tools.mcp._config import MCPServer

log = logging.getLogger(__name__)

T = TypeVar("T")

# The streamable HTTP client's answer when the server says 404 to the session's id: the server
# forgot the session (it restarted, or expired it) and ran nothing.
_FORGOTTEN = "Session terminated"


class KeptSession:
    """One MCP server's session, opened on first use, kept, and reopened after the server
    goes away (a stdio process that died, an HTTP server that restarted).

    A failure raises TransientFailure: `sent=False` when the request cannot have reached the
    server (the session had already ended, or the server did not know it), so even a
    side-effecting call may be repeated on a fresh session.
    """

    def __init__(self, name: str, server: MCPServer) -> None:
        self.name = name
        self.server = server
        self._held: _Held | None = None
        self._opening: asyncio.Task[_Held] | None = None
        self._ending: set[_Held] = set()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opened = 0

    async def list_tools(
        self, cursor: str | None = None, *, params: PaginatedRequestParams | None = None
    ) -> ListToolsResult:
        """List one page of the server's tools (as `ClientSession.list_tools`)."""
        page = params or (PaginatedRequestParams(cursor=cursor) if cursor else None)
        return await self._request(lambda session: session.list_tools(params=page))

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        read_timeout_seconds: timedelta | None = None,
        progress_callback: ProgressFnT | None = None,
        *,
        meta: dict[str, Any] | None = None,
    ) -> CallToolResult:
        """Call a tool (as `ClientSession.call_tool`); the caller bounds the wait."""
        return await self._request(
            lambda session: session.call_tool(
                name, arguments, read_timeout_seconds, progress_callback, meta=meta
            )
        )

    async def aclose(self) -> None:
        """Close the session (a stdio server gets EOF, then SIGTERM if it lingers)."""
        self._closed = True
        if self._opening is not None:
            self._opening.cancel()
            await asyncio.gather(self._opening, return_exceptions=True)
        if self._held is not None:
            self._ending.add(self._held)
            self._held = None
        for held in list(self._ending):
            await held.close()
        self._ending.clear()

    async def _request(self, send: Callable[[ClientSession], Awaitable[T]]) -> T:
        held = await self._current()
        request = asyncio.ensure_future(send(held.session))
        ended = asyncio.ensure_future(held.ended.wait())
        held.in_flight += 1
        try:
            # The HTTP transport can fail without answering the requests it carries, so a
            # call also watches for the end of its session.
            done, _ = await asyncio.wait((request, ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            held.in_flight -= 1
            ended.cancel()
            if not request.done():  # the caller was cancelled (its timeout): abandon the request
                request.cancel()
                request.add_done_callback(_consume)
        if request not in done:
            self._retire(held)
            raise held.lost()
        try:
            return request.result()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            # the session's streams were closed before the request was handed over
            self._retire(held)
            raise TransientFailure(
                f"the session had ended before the call ({type(exc).__name__})", sent=False
            ) from exc
        except McpError as exc:
            if exc.error.message == _FORGOTTEN:
                self._retire(held)
                raise TransientFailure(
                    "the server no longer knew the session (restarted?); it ran nothing",
                    sent=False,
                ) from exc
            if exc.error.code == CONNECTION_CLOSED:
                self._retire(held)
                raise TransientFailure(
                    "the server closed the session during the call", sent=True
                ) from exc
            raise

    async def _current(self) -> _Held:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(
                f"the session to MCP server {self.name!r} belongs to another event loop; "
                "give each event loop its own MCPSessions"
            )
        if self._closed:
            raise TransientFailure(
                f"the sessions to MCP server {self.name!r} are closed", sent=False
            )
        held = self._held
        if held is not None and not held.ended.is_set():
            return held
        if held is not None:
            self._retire(held)
        if self._opening is None:
            # a context of its own: the session outlives the run that happened to open it
            self._opening = asyncio.create_task(self._open(), context=contextvars.Context())
        opening = self._opening
        try:
            # shielded: a caller that gives up does not stop the opening for the others
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if opening.cancelled() and task is not None and not task.cancelling():
                raise TransientFailure(  # closed while opening: the caller was not cancelled
                    f"the sessions to MCP server {self.name!r} are closed", sent=False
                ) from None
            raise
        except Exception as exc:
            failure = describe_failure(exc, self.server.timeout, expired=False)
            failure.sent = False  # nothing of the call was sent before its session was open
            raise failure from exc

    async def _open(self) -> _Held:
        try:
            held = _Held(self.server)
            await held.start()
        finally:
            self._opening = None
        self._held = held
        self._opened += 1
        if self._opened > 1:
            log.info("MCP server %r: new session (%d so far)", self.name, self._opened)
        return held

    def _retire(self, held: _Held) -> None:
        """Stop using a session that failed; it is closed in the background."""
        if self._held is held:
            self._held = None
        if held not in self._ending:
            self._ending = {ending for ending in self._ending if not ending.ended.is_set()}
            self._ending.add(held)
            held.stop()


class _Held:
    """A ClientSession held open by a task of its own: the transport's task groups must be
    entered and left by one task, while calls come from many."""

    def __init__(self, server: MCPServer) -> None:
        self._server = server
        self.session: ClientSession
        self.ended = asyncio.Event()
        self.in_flight = 0
        self._stop = asyncio.Event()
        self._failure: Exception | None = None
        self._in_flight_at_end = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open and initialize the session, within the server's timeout."""
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._hold(ready), context=contextvars.Context())
        try:
            async with asyncio.timeout(self._server.timeout):
                self.session = await asyncio.shield(ready)
        except BaseException:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            raise

    def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def lost(self) -> TransientFailure:
        """Why the session ended under a call: whether the call was sent cannot be known,
        unless it was the only one and the server could not even be reached."""
        if self._failure is None:
            return TransientFailure("the session was closed during the call", sent=True)
        failure = describe_failure(self._failure, self._server.timeout, expired=False)
        failure.sent = failure.sent or self._in_flight_at_end > 1
        return failure

    async def _hold(self, ready: asyncio.Future[ClientSession]) -> None:
        try:
            async with create_session(self._server.connection()) as session:
                await session.initialize()
                ready.set_result(session)
                await self._stop.wait()
        except Exception as exc:
            if ready.done():
                self._failure = exc
            else:
                ready.set_exception(exc)
        finally:
            if not ready.done():
                ready.cancel()
            self._in_flight_at_end = self.in_flight
            self.ended.set()


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned request's outcome, so asyncio does not report it as lost."""
    if not task.cancelled():
        task.exception()


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def describe_failure(exc: Exception, timeout: float, *, expired: bool) -> TransientFailure:
    """Say why a session or call failed, and whether the request can have reached the server.

    The MCP client reports transport failures inside (nested) exception groups, and a
    cancelled session may surface as a broken stream rather than a TimeoutError, hence
    `expired`. Anything that is not a transport failure is a bug and is raised as it is.
    """
    if isinstance(exc, TransientFailure):
        return exc
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
