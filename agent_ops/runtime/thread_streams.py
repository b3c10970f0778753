"""The stream of a whole thread (`GET /threads/{id}/stream`): its runs' events one run after
another, each run closed by a `run_done` marker, and its state updates, in the stream modes of
langgraph-sdk's `ThreadStreamMode` (`run_modes`: everything of the runs; `lifecycle`: the
runs' start and `run_done` metadata only; `state_update`: state updates outside runs).

Runs of a thread execute one at a time in (created_at, run_id) order and a state update waits
until none is in flight, so the thread stream is these sources concatenated in creation order.
An event's id says where it sits: `<source created_at in µs>:<run or event id>:<seq>` (`done`
for a run's marker and for a state update). A client reconnecting with `Last-Event-ID` resumes
right after that event, or from the thread's first retained source with `-`; without it the
stream starts with the runs still in flight. Run events come from the stream bus (memory or
store, so any process can serve any thread); new runs and state updates are noticed through
RUN_QUEUED (RUN_STARTED for a run handed to a worker as it was queued) and THREAD_EVENTS.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, get_args

import orjson

from agent_ops.errors import InvalidInput, NotFound
from agent_ops.runtime.serde import dumps
from agent_ops.runtime.streams import StreamBus
from agent_ops.storage import RUN_QUEUED, RUN_STARTED, THREAD_EVENTS, Run, Storage, ThreadEvent
from agent_ops.types import TERMINAL_RUN_STATUSES, ThreadStreamMode

THREAD_STREAM_MODES: Final = frozenset(get_args(ThreadStreamMode))

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DONE: Final = "done"
_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class ThreadStreamEvent:
    """One server-sent event of a thread stream."""

    id: str
    event: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _Cursor:
    """The last event a client saw: its source's place in the thread and its seq there."""

    key: tuple[int, str]
    seq: int | None  # None: the source is done (a run's `run_done` marker, a state update)


def thread_stream_modes(requested: Collection[str] | None) -> frozenset[str]:
    """Return the thread stream modes asked for (`run_modes` by default); 422 on an unknown one."""
    modes = frozenset(requested or ("run_modes",))
    unknown = sorted(modes - THREAD_STREAM_MODES)
    if unknown:
        raise InvalidInput(
            f"thread stream_mode {unknown[0]!r} is not supported; use one of "
            f"{sorted(THREAD_STREAM_MODES)}"
        )
    return modes


def _micros(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def _key(source: Run | ThreadEvent) -> tuple[int, str]:
    """A source's place in the thread: runs and state updates in creation order."""
    if isinstance(source, Run):
        return _micros(source.created_at), source.run_id
    return _micros(source.created_at), source.event_id


def _event_id(key: tuple[int, str], seq: int | None) -> str:
    return f"{key[0]}:{key[1]}:{_DONE if seq is None else seq}"


def _parse_cursor(value: str) -> _Cursor:
    try:
        created, source_id, seq = value.split(":")
        uuid.UUID(source_id)
        return _Cursor((int(created), source_id), None if seq == _DONE else int(seq))
    except ValueError:
        raise InvalidInput(
            f"Last-Event-ID {value!r} is not an event id of a thread stream "
            "(<created µs>:<source id>:<seq>), nor '-' for the beginning"
        ) from None


def _wanted(modes: frozenset[str], event: str, data: bytes) -> bool:
    if event == "state_update":
        return "state_update" in modes
    if "run_modes" in modes:
        return True
    if "lifecycle" in modes and event == "metadata":
        meta = orjson.loads(data)
        return meta.get("status") == "run_done" or ("run_id" in meta and "attempt" in meta)
    return False


class ThreadStreams:
    """Serves thread streams from the stream bus, the runs and the thread events."""

    def __init__(self, storage: Storage, bus: StreamBus, *, poll_seconds: float = 1.0) -> None:
        self._storage = storage
        self._bus = bus
        self._poll_seconds = poll_seconds

    async def open(
        self, thread_id: str, modes: frozenset[str], *, last_event_id: str | None = None
    ) -> AsyncIterator[ThreadStreamEvent]:
        """Check the thread and the id, then return the thread's events in `modes` after
        `last_event_id`, until the client leaves (or the thread is deleted)."""
        await self._storage.get_thread(thread_id)
        cursor = None if last_event_id in (None, "-") else _parse_cursor(last_event_id)
        return self._follow(thread_id, modes, cursor, skip_finished=last_event_id is None)

    async def _follow(
        self, thread_id: str, modes: frozenset[str], cursor: _Cursor | None, *, skip_finished: bool
    ) -> AsyncIterator[ThreadStreamEvent]:
        # Sources after `after` are still to stream; `resume` is a run to continue mid-way.
        after = cursor.key if cursor is not None and cursor.seq is None else None
        resume = cursor if cursor is not None and cursor.seq is not None else None
        woken = asyncio.Event()

        def on_thread_event(payload: str) -> None:
            if payload == thread_id:
                woken.set()

        unlisten = [
            self._storage.listen(RUN_QUEUED, lambda _: woken.set()),
            self._storage.listen(RUN_STARTED, lambda _: woken.set()),  # a run handed over
            self._storage.listen(THREAD_EVENTS, on_thread_event),
        ]
        try:
            while True:
                woken.clear()
                lower = resume.key if resume is not None else after
                try:
                    sources = await self._sources(thread_id, lower, inclusive=resume is not None)
                    for source in sources:
                        key = _key(source)
                        seen = (resume.seq or 0) if resume is not None and resume.key == key else 0
                        resume = None
                        after = key
                        if skip_finished and (
                            not isinstance(source, Run) or source.status in TERMINAL_RUN_STATUSES
                        ):
                            continue
                        async for event in self._events_of(source, key, seen, modes):
                            yield event
                except NotFound:  # the thread, or a run of it, was deleted meanwhile
                    return
                skip_finished = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), self._poll_seconds)
        finally:
            for stop in unlisten:
                stop()

    async def _events_of(
        self, source: Run | ThreadEvent, key: tuple[int, str], seen: int, modes: frozenset[str]
    ) -> AsyncIterator[ThreadStreamEvent]:
        """A state update, or a run's events after `seen` and its `run_done` marker."""
        if isinstance(source, ThreadEvent):
            if _wanted(modes, source.event, source.data):
                yield ThreadStreamEvent(_event_id(key, None), source.event, source.data)
            return
        async for item in self._bus.subscribe(source.run_id, after_seq=seen):
            if _wanted(modes, item.event, item.data):
                yield ThreadStreamEvent(_event_id(key, item.seq), item.event, item.data)
        done = dumps({"status": "run_done", "run_id": source.run_id})
        if _wanted(modes, "metadata", done):
            yield ThreadStreamEvent(_event_id(key, None), "metadata", done)

    async def _sources(
        self, thread_id: str, lower: tuple[int, str] | None, *, inclusive: bool
    ) -> list[Run | ThreadEvent]:
        """The thread's runs and thread events after `lower` (from it when `inclusive`), in
        the order they happen."""

        def later(source: Run | ThreadEvent) -> bool:
            key = _key(source)
            return lower is None or key > lower or (inclusive and key == lower)

        found: dict[str, Run | ThreadEvent] = {}  # by id: a run created meanwhile shifts pages
        offset = 0
        while True:
            page = await self._storage.list_runs(thread_id, limit=_PAGE, offset=offset)
            fresh = [r for r in page if later(r)]
            found.update((r.run_id, r) for r in fresh)
            if len(fresh) < len(page) or len(page) < _PAGE:
                break
            offset += _PAGE
        # Read from a little earlier than `lower`: the store's clock is compared exactly here.
        since = None if lower is None else _EPOCH + timedelta(microseconds=lower[0] - 1000)
        for event in await self._storage.read_thread_events(thread_id, since=since):
            if later(event):
                found[event.event_id] = event
        return sorted(found.values(), key=_key)
