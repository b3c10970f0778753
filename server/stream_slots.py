"""How many server-sent event streams one caller may hold open at once.

An open stream holds a connection, a task and a bus subscription for as long as the client
likes, so one caller could otherwise hold thousands. Every SSE route takes a slot before it does
anything (so a refused `runs/stream` queues no run); over `AGENT_OPS_MAX_STREAMS_PER_CALLER` the
answer is 429 with `Retry-After`. `RequestGuard` frees the slot when the request ends, however it
ends (stream finished, client gone, route failed), so a slot cannot leak. The caller is its
identity when authentication is on, else the client's address.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from agent_ops.errors import TooManyRequests

__all__ = ["RELEASE_KEY", "StreamSlot", "StreamSlots", "caller_key"]

RELEASE_KEY = "release_stream_slot"
"""Where a request's scope state holds the function that frees its slot."""
RETRY_AFTER_SECONDS = 5


class StreamSlots:
    """The open streams of each caller of one server process."""

    def __init__(self, per_caller: int) -> None:
        self.per_caller = per_caller
        self._open: dict[str, int] = {}

    def open(self, caller: str) -> int:
        """How many streams `caller` holds open now."""
        return self._open.get(caller, 0)

    def take(self, caller: str) -> Callable[[], None]:
        """Take a slot for `caller` and return the function that frees it (once, however
        often it is called); TooManyRequests when the caller holds all its slots."""
        held = self.open(caller)
        if held >= self.per_caller:
            raise TooManyRequests(
                f"{caller} already holds {held} open streams, the limit "
                f"(AGENT_OPS_MAX_STREAMS_PER_CALLER={self.per_caller}); close one and retry",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._open[caller] = held + 1
        freed = False

        def release() -> None:
            nonlocal freed
            if freed:
                return
            freed = True
            left = self._open.get(caller, 1) - 1
            if left > 0:
                self._open[caller] = left
            else:
                self._open.pop(caller, None)

        return release


def caller_key(request: Request) -> str:
    """Whom a stream counts against: the authenticated identity, or the client's address."""
    identity = getattr(request.state, "identity", None)
    if identity is not None:
        return f"caller {identity.subject!r} of tenant {identity.tenant!r}"
    host = request.client.host if request.client else "unknown"
    return f"client {host}"


async def _take_slot(request: Request) -> None:
    slots: StreamSlots = request.app.state.stream_slots
    request.state.release_stream_slot = slots.take(caller_key(request))


StreamSlot = Depends(_take_slot)
"""The dependency every SSE route declares (`dependencies=[StreamSlot]`)."""
