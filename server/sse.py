"""Server-sent events as the LangGraph server writes them, each with an `id:` for resumption."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from sse_starlette import EventSourceResponse, ServerSentEvent

from agent_ops import InvalidInput
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
    """Return the sequence number a reconnecting client saw last.

    The rule: no header, an empty one or `-` replays from the first event; a whole number n >= 0
    resumes after event n; anything else is a 422 naming the value (never silently a replay)."""
    text = (value or "").strip()
    if text in ("", "-"):
        return 0
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(
            f"Last-Event-ID {value!r} is not an event id of this stream (a whole number >= 0, "
            "or '-' for the beginning)"
        )
    return int(text)


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
