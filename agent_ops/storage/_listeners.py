"""In-process wake-up listeners, shared by both backends."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

from agent_ops.storage.protocol import Listener


class Listeners:
    """Listeners by channel; delivery is scheduled on the loop, never called inline."""

    def __init__(self) -> None:
        self._by_channel: dict[str, list[Listener]] = defaultdict(list)

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        self._by_channel[channel].append(listener)

        def unsubscribe() -> None:
            if listener in self._by_channel[channel]:
                self._by_channel[channel].remove(listener)

        return unsubscribe

    def deliver(self, channel: str, payload: str) -> None:
        # Scheduled, not called: a failing listener is reported by the loop and never turns a
        # committed change into an error for the caller.
        loop = asyncio.get_running_loop()
        for listener in list(self._by_channel.get(channel, ())):
            loop.call_soon(listener, payload)
