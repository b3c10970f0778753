"""What goes on the wire: uvicorn's HTTP protocol with the writes of one turn of the event loop
sent together.

uvicorn writes a response's head when the app starts it and its body when the app sends it: two
`send` calls on the socket, two segments, and on loopback two wake-ups of the client, for every
plain JSON answer. Here the protocol's transport keeps what is written until the end of the
current turn of the loop (or until `FLUSH_BYTES` are waiting) and sends it in one call, so head
and body leave together, as do the SSE events a run emits in one step. Nothing waits for a later
turn: the bytes go out before the loop next polls for I/O. Measured (README, Benchmarks): the
socket writes were a fifth of the SQLite server's CPU under 16 clients.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingHttpToolsProtocol", "CoalescingTransport"]

# Bytes held before a write goes out at once anyway: a bound on memory for an app that writes
# much without yielding, and the size past which one more send costs nothing worth saving.
FLUSH_BYTES: Final = 64 * 1024


class CoalescingTransport:
    """A transport passing everything to `transport`, except that writes made in one turn of
    the event loop go out as one write at its end (or once `FLUSH_BYTES` wait)."""

    __slots__ = ("_transport", "_loop", "_held", "_size", "_due")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0
        self._due = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        # A transport owns what it is given: a caller may reuse a bytearray or a memoryview's
        # buffer once `write` returns, so those are copied before they are held.
        self._held.append(data if isinstance(data, bytes) else bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif not self._due:
            self._due = True
            self._loop.call_soon(self._flush_due)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Send what is held, now."""
        held, self._held, self._size = self._held, [], 0
        if not held:
            return
        if len(held) == 1:
            self._transport.write(held[0])
        else:
            self._transport.write(b"".join(held))

    def _flush_due(self) -> None:
        self._due = False
        self.flush()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held, self._size = [], 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a `CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
