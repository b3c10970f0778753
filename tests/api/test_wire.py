"""What the server writes to its sockets: uvicorn's httptools protocol with the writes of one turn
of the event loop sent together (`server/wire.py`), driven over a real loopback socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from server.wire import FLUSH_BYTES, CoalescingHttpToolsProtocol, CoalescingTransport

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Recorder:
    """A transport recording each write that reaches it, passing everything on."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@asynccontextmanager
async def serving(app: App) -> AsyncIterator[tuple[int, list[Recorder]]]:
    """`app` behind the coalescing protocol on a loopback port; the recorders of its
    connections, in order."""
    config = uvicorn.Config(app, http=CoalescingHttpToolsProtocol, log_config=None, lifespan="off")
    config.load()
    state = ServerState()
    recorders: list[Recorder] = []

    class Recording(CoalescingHttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            recorders.append(Recorder(transport))
            super().connection_made(recorders[-1])  # type: ignore[arg-type]

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Recording(config=config, server_state=state, app_state={}), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1], recorders
    finally:
        for connection in list(state.connections):
            connection.shutdown()
        server.close()
        await server.wait_closed()


async def fetch(port: int, path: str = "/") -> tuple[bytes, bytes]:
    """GET `path` on a fresh connection that the server closes; its head and its body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


async def json_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = json.dumps({"ok": True}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_a_json_answer_leaves_in_one_write_head_and_body_together() -> None:
    async with serving(json_app) as (port, recorders):
        head, body = await fetch(port)
    assert head.startswith(b"HTTP/1.1 200 OK") and json.loads(body) == {"ok": True}
    # uvicorn writes the head when the answer starts and the body when it is sent: two writes
    # on its own transport, one here.
    assert len(recorders[0].writes) == 1
    assert recorders[0].writes[0].startswith(b"HTTP/1.1 200 OK")
    assert recorders[0].writes[0].endswith(body)


async def test_a_stream_sends_what_one_turn_wrote_together_and_nothing_waits_for_the_next() -> None:
    later = asyncio.Event()

    async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for n in range(3):  # one step's events
            await send(
                {"type": "http.response.body", "body": b"data: %d\n\n" % n, "more_body": True}
            )
        await later.wait()
        await send({"type": "http.response.body", "body": b"data: end\n\n"})

    async with serving(stream) as (port, recorders):
        fetching = asyncio.create_task(fetch(port))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if recorders and recorders[0].writes:
                break
        # The first step's events went out before the stream went quiet: no write is held
        # past its turn of the loop.
        assert len(recorders[0].writes) == 1
        assert b"data: 2" in recorders[0].writes[0]
        later.set()
        _, body = await fetching
    assert body.count(b"data:") == 4
    assert len(recorders[0].writes) == 2


async def test_a_big_body_goes_at_once_with_its_head() -> None:
    big = b"x" * (3 * FLUSH_BYTES)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-length", str(len(big)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": big})

    async with serving(app) as (port, recorders):
        _, body = await fetch(port)
    assert body == big
    assert len(recorders[0].writes) == 1 and recorders[0].writes[0].endswith(big)


async def test_an_answer_to_a_bad_request_is_flushed_before_the_connection_closes() -> None:
    async with serving(json_app) as (port, recorders):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400")


async def test_a_buffer_reused_after_its_write_goes_out_as_it_was_written() -> None:
    sent: list[bytes] = []

    class Sink:
        def write(self, data: bytes) -> None:
            sent.append(bytes(data))

    transport = CoalescingTransport(Sink(), asyncio.get_running_loop())  # type: ignore[arg-type]
    buffer = bytearray(b"first")
    transport.write(buffer)
    buffer[:] = b"later"  # the caller's to reuse once write returned
    transport.write(memoryview(b"!"))
    await asyncio.sleep(0)
    assert sent == [b"first!"]
