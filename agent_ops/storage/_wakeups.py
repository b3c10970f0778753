"""Wake-ups on both backends: the transaction that collects them and the listeners they reach.

A state change raises its wake-ups on its `Tx` while it runs; the backend hands them on only once
the transaction committed (PostgreSQL also sends them to other processes as one NOTIFY batch
inside it), so a listener never hears of a change that was rolled back.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agent_ops.storage.channels import Listener

C = TypeVar("C")


@dataclass(slots=True)
class Tx(Generic[C]):
    """One open transaction of either backend: its connection, its clock, its wake-ups."""

    conn: C
    now: float = field(default_factory=time.time)
    """When the transaction began (epoch seconds): SQLite stamps rows with it."""
    wakeups: dict[tuple[str, str], None] = field(default_factory=dict)
    token: str = ""
    """Marks this process's NOTIFYs (PostgreSQL), which it delivers itself."""
    sent: int = 0
    """How many of the wake-ups a statement of the transaction already sent to other processes
    (PostgreSQL folds them into the transaction's last statement when it can)."""

    def notify(self, channel: str, payload: str) -> None:
        """Raise a wake-up, delivered after commit; a repeated one is delivered once."""
        self.wakeups[channel, payload] = None

    def raised(self) -> Iterator[tuple[str, str]]:
        """The wake-ups in the order they were first raised."""
        return iter(self.wakeups)


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

    def deliver_all(self, wakeups: Iterable[tuple[str, str]]) -> None:
        for channel, payload in wakeups:
            self.deliver(channel, payload)
