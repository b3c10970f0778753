"""The stream bus: every run's events, live in the process that executes it and kept in the store.

The executing process appends events to an in-memory log that local subscribers read at once,
and flushes them to the store in batches (at least every `flush_seconds`; the last batch goes in
the transaction that writes the run's final status). Subscribers elsewhere, or arriving after the run, read the store
and wake on RUN_EVENTS/RUN_DONE. Sequence numbers are the SSE `id:`s, so a client reconnecting
with `Last-Event-ID` resumes after the last event it saw, from memory or from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

from agent_ops.runtime.periodic import cancel_and_wait
from agent_ops.storage import RUN_DONE, RUN_EVENTS, RunEvent, Storage
from agent_ops.types import TERMINAL_RUN_STATUSES

log = logging.getLogger(__name__)


class RunStream:
    """The live event log of one run executing in this process."""

    def __init__(self, run_id: str, first_seq: int) -> None:
        self.run_id = run_id
        self.first_seq = first_seq
        self.events: list[RunEvent] = []
        self.done = False
        self._flushed = 0
        self._changed = asyncio.Event()

    def publish(self, event: str, data: bytes) -> RunEvent:
        """Append one event; local subscribers see it immediately."""
        item = RunEvent(self.first_seq + len(self.events), event, data)
        self.events.append(item)
        self._wake()
        return item

    def after(self, seq: int) -> list[RunEvent]:
        return self.events[max(0, seq - self.first_seq + 1) :]

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def unflushed(self) -> list[RunEvent]:
        return self.events[self._flushed :]

    def flushed(self, count: int) -> None:
        """Record that `count` more events are stored (only once their write has committed:
        a flush cancelled mid-write leaves them for the next one)."""
        self._flushed += count


class StreamBus:
    """Publishes run events and serves them to subscribers, live or replayed."""

    def __init__(self, storage: Storage, *, flush_seconds: float = 0.1) -> None:
        self._storage = storage
        self._flush_seconds = flush_seconds
        self._live: dict[str, RunStream] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._unlisten = [
            storage.listen(RUN_EVENTS, self._poke),
            storage.listen(RUN_DONE, self._poke),
        ]

    async def close(self) -> None:
        """Stop listening and stop every flusher, returning once they have ended (so none
        writes after the storage under it closes)."""
        for unlisten in self._unlisten:
            unlisten()
        flushers = list(self._flushers.values())
        self._flushers.clear()
        await cancel_and_wait(*flushers)

    def _poke(self, run_id: str) -> None:
        for waiter in self._waiters.get(run_id, ()):
            waiter.set()

    # -- publishing -----------------------------------------------------------------------------
    async def start(self, run_id: str, *, attempt: int = 1) -> RunStream:
        """Open the live log of a run about to execute, continuing after its stored events
        (a first attempt has none, so it skips the read)."""
        stored = await self._storage.read_events(run_id, after_seq=0) if attempt > 1 else []
        stream = RunStream(run_id, first_seq=(stored[-1].seq + 1) if stored else 1)
        self._live[run_id] = stream
        self._flushers[run_id] = asyncio.create_task(self._flush_loop(stream))
        self._poke(run_id)
        return stream

    async def _flush_loop(self, stream: RunStream) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            await self.flush(stream)

    async def flush(self, stream: RunStream) -> None:
        batch = stream.unflushed()
        if batch:
            await self._storage.append_events(stream.run_id, batch)
            stream.flushed(len(batch))

    async def settle(self, stream: RunStream) -> list[RunEvent]:
        """Stop the periodic flush; return the events not yet stored, for the run's ending to
        store in its own transaction (then `stream.flushed`), or `finish` to store now."""
        flusher = self._flushers.pop(stream.run_id, None)
        if flusher is not None:
            await cancel_and_wait(flusher)
        return stream.unflushed()

    async def finish(self, stream: RunStream) -> None:
        """Persist every remaining event; call before a change to the run that stores none."""
        await self.settle(stream)
        await self.flush(stream)

    def end(self, stream: RunStream) -> None:
        """Mark the live log complete (after the final status is stored) and let it go."""
        stream.done = True
        stream._wake()
        if self._live.get(stream.run_id) is stream:
            del self._live[stream.run_id]
        self._poke(stream.run_id)

    # -- subscribing ----------------------------------------------------------------------------
    async def subscribe(
        self, run_id: str, *, after_seq: int = 0, poll_seconds: float = 1.0
    ) -> AsyncIterator[RunEvent]:
        """Yield the run's events after `after_seq` until the run has ended."""
        last = after_seq
        waiter = asyncio.Event()
        self._waiters[run_id].add(waiter)
        try:
            while True:
                live = self._live.get(run_id)
                if live is not None:
                    while True:
                        for item in live.after(last):
                            last = item.seq
                            yield item
                        if live.done:
                            break
                        await live.wait(poll_seconds)
                    continue
                waiter.clear()
                for item in await self._storage.read_events(run_id, after_seq=last):
                    last = item.seq
                    yield item
                run = await self._storage.get_run(run_id)
                if run.status in TERMINAL_RUN_STATUSES:
                    for item in await self._storage.read_events(run_id, after_seq=last):
                        last = item.seq
                        yield item
                    return
                if run_id not in self._live:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiter.wait(), poll_seconds)
        finally:
            self._waiters[run_id].discard(waiter)
            if not self._waiters[run_id]:
                del self._waiters[run_id]
