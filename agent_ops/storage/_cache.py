"""A process's short-lived copy of the assistants it reads.

Every run reads its assistant twice (admission, then the worker) and assistants change rarely,
so the store keeps what it read for a few seconds. A change made through this process drops the
copy before the change's call returns; one made by another process arrives as an
ASSISTANT_CHANGED wake-up (NOTIFY on PostgreSQL) within milliseconds. The few seconds of
`CACHE_SECONDS` bound the staleness when that wake-up is lost (the LISTEN link was down), which
is why it is a time-to-live and not a version read: a version check would cost the very round
trip the copy saves.
"""

from __future__ import annotations

import time
from typing import Final

from agent_ops.storage.records import Assistant

CACHE_SECONDS: Final = 5.0


class AssistantCache:
    """Assistants by id, each kept `CACHE_SECONDS` after it was read."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[float, Assistant]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Changes seen so far; a read that began before a change must not be kept."""
        return self._generation

    def get(self, assistant_id: str) -> Assistant | None:
        hit = self._rows.get(assistant_id)
        if hit is None:
            return None
        if time.monotonic() - hit[0] > CACHE_SECONDS:
            del self._rows[assistant_id]
            return None
        return hit[1]

    def put(self, assistant: Assistant, generation: int) -> None:
        """Keep what a read found, unless an assistant changed while it was reading."""
        if generation == self._generation:
            self._rows[assistant.assistant_id] = (time.monotonic(), assistant)

    def drop(self, assistant_id: str) -> None:
        """Forget a changed (or deleted) assistant, and any read still under way."""
        self._generation += 1
        self._rows.pop(assistant_id, None)
