"""The queue in front of one model endpoint: callers take turns, as many at once as it decodes.

A caller waits here before its request is sent, so the time an attempt is given to generate
starts when the model starts on it, not while it waits behind others; the wait has its own bound
(a role's `queue_timeout_seconds`), so a flooded process fails with that reason instead of
timing out requests the endpoint never began. Waiters are served in arrival order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class QueueTimeout(Exception):
    """A caller waited longer than its queue bound for a turn at the model.

    Not a `TimeoutError`: the same endpoint would keep it waiting again, so it is not retried
    there; the role goes on to its next provider.
    """

    def __init__(self, message: str, waited: float) -> None:
        super().__init__(message)
        self.waited = waited


class ModelQueue:
    """Turns at one model endpoint, `slots` at a time, first come first served."""

    def __init__(self, name: str, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"model queue {name!r} needs at least one slot, not {slots}")
        self.name = name
        self.slots = slots
        self._free = asyncio.Semaphore(slots)  # FIFO: waiters wake in arrival order
        self._waiting = 0
        self._busy = 0

    @property
    def waiting(self) -> int:
        """Callers waiting for a turn now."""
        return self._waiting

    @property
    def busy(self) -> int:
        """Turns in progress now."""
        return self._busy

    @asynccontextmanager
    async def turn(self, bound: float, *, setting: str) -> AsyncIterator[float]:
        """Wait for a turn (at most `bound` seconds) and hold it; yield the seconds waited.

        `setting` names the config key that bounds the wait, for the error.
        """
        started = time.perf_counter()
        ahead = self._waiting + self._busy
        self._waiting += 1
        try:
            async with asyncio.timeout(bound):
                await self._free.acquire()
        except TimeoutError:
            waited = time.perf_counter() - started
            raise QueueTimeout(
                f"waited {waited:.1f}s for a turn at {self.name} ({self.slots} at a time,"
                f" {ahead} ahead on arrival, {self._waiting - 1} still waiting) and gave up at"
                f" {setting} = {bound:g}s; raise it, or add a provider to share the load",
                waited,
            ) from None
        finally:
            self._waiting -= 1
        self._busy += 1
        try:
            yield time.perf_counter() - started
        finally:
            self._busy -= 1
            self._free.release()
