"""Server-sent events as the LangGraph server writes them, each with an `id:` for resumption."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from sse_starlette import EventSourceResponse, ServerSentEvent

from agent_ops.runtime import RunEvent, ThreadStreamEvent

HEARTBEAT_SECONDS = 5


def encode(event: RunEvent | ThreadStreamEvent) -> bytes:
    """Write one event exactly as the LangGraph server does (CRLF, event/data/id)."""
    event_id = event.seq if isinstance(event, RunEvent) else event.id
    return b"event: %s\r\ndata: %s\r\nid: %s\r\n\r\n" % (
        event.event.encode(),
        event.data,
        str(event_id).encode(),
    )


def parse_last_event_id(value: str | None) -> int:
    """Return the sequence number a reconnecting client saw last (0 for none or garbage)."""
    if not value:
        return 0
    try:
        return max(0, int(value.strip()))
    except ValueError:
        return 0


def sse_response(
    events: AsyncIterator[bytes], headers: Mapping[str, str] | None = None
) -> EventSourceResponse:
    return EventSourceResponse(
        events,
        headers=dict(headers or {}),
        ping=HEARTBEAT_SECONDS,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        sep="\r\n",
        media_type="text/event-stream",
    )
