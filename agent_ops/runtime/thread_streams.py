"""The stream of a whole thread (`GET /threads/{id}/stream`): its runs' events one run after
another, each run closed by a `run_done` marker, in the stream modes of langgraph-sdk's
`ThreadStreamMode`.

Runs of a thread execute one at a time in (created_at, run_id) order, so the thread stream is
their event logs concatenated in that order. An event's id says where it sits in that order:
`<run created_at in µs>:<run id>:<seq>` (`...:done` for the marker). A client reconnecting with
`Last-Event-ID` resumes right after that event, or from the thread's first retained run with
`-`; without it the stream starts with the runs still in flight. Run events come from the stream
bus (memory or store, so any process can serve any thread) and new runs are noticed through
RUN_QUEUED.
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
from agent_ops.storage import RUN_QUEUED, Run, Storage
from agent_ops.types import TERMINAL_RUN_STATUSES, ThreadStreamMode

THREAD_STREAM_MODES: Final = frozenset(get_args(ThreadStreamMode))

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DONE: Final = "done"
_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class ThreadEvent:
    """One server-sent event of a thread stream."""

    id: str
    event: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _Cursor:
    """The last event a client saw: a run's place in the thread and the event within it."""

    key: tuple[int, str]
    seq: int | None  # None: the run's `run_done` marker


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


def _key(run: Run) -> tuple[int, str]:
    created = run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC)
    return (created - _EPOCH) // timedelta(microseconds=1), run.run_id


def _event_id(key: tuple[int, str], seq: int | None) -> str:
    return f"{key[0]}:{key[1]}:{_DONE if seq is None else seq}"


def _parse_cursor(value: str) -> _Cursor:
    try:
        created, run_id, seq = value.split(":")
        key = (int(created), str(uuid.UUID(run_id)))
        return _Cursor(key, None if seq == _DONE else int(seq))
    except ValueError:
        raise InvalidInput(
            f"Last-Event-ID {value!r} is not an event id of a thread stream "
            "(<created µs>:<run id>:<seq>), nor '-' for the beginning"
        ) from None


def _wanted(modes: frozenset[str], event: str, data: bytes) -> bool:
    if "run_modes" in modes:
        return True
    if "lifecycle" in modes and event == "metadata":
        meta = orjson.loads(data)
        return meta.get("status") == "run_done" or ("run_id" in meta and "attempt" in meta)
    return False


class ThreadStreams:
    """Serves thread streams from the stream bus and the runs table."""

    def __init__(self, storage: Storage, bus: StreamBus, *, poll_seconds: float = 1.0) -> None:
        self._storage = storage
        self._bus = bus
        self._poll_seconds = poll_seconds

    async def open(
        self, thread_id: str, modes: frozenset[str], *, last_event_id: str | None = None
    ) -> AsyncIterator[ThreadEvent]:
        """Check the thread and the id, then return the thread's events in `modes` after
        `last_event_id`, until the client leaves (or the thread is deleted)."""
        await self._storage.get_thread(thread_id)
        cursor = None if last_event_id in (None, "-") else _parse_cursor(last_event_id)
        return self._follow(thread_id, modes, cursor, skip_finished=last_event_id is None)

    async def _follow(
        self, thread_id: str, modes: frozenset[str], cursor: _Cursor | None, *, skip_finished: bool
    ) -> AsyncIterator[ThreadEvent]:
        # Runs after `after` are still to stream; `resume` is a run to continue mid-way.
        after = cursor.key if cursor is not None and cursor.seq is None else None
        resume = cursor if cursor is not None and cursor.seq is not None else None
        woken = asyncio.Event()
        unlisten = self._storage.listen(RUN_QUEUED, lambda _: woken.set())
        try:
            while True:
                woken.clear()
                try:
                    if resume is not None:
                        runs = await self._runs_from(thread_id, resume.key, inclusive=True)
                    else:
                        runs = await self._runs_from(thread_id, after, inclusive=False)
                except NotFound:
                    return
                for run in runs:
                    key = _key(run)
                    seen = (resume.seq or 0) if resume is not None and resume.key == key else 0
                    resume = None
                    after = key
                    if skip_finished and run.status in TERMINAL_RUN_STATUSES:
                        continue
                    async for item in self._bus.subscribe(run.run_id, after_seq=seen):
                        if _wanted(modes, item.event, item.data):
                            yield ThreadEvent(_event_id(key, item.seq), item.event, item.data)
                    done = dumps({"status": "run_done", "run_id": run.run_id})
                    if _wanted(modes, "metadata", done):
                        yield ThreadEvent(_event_id(key, None), "metadata", done)
                skip_finished = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), self._poll_seconds)
        finally:
            unlisten()

    async def _runs_from(
        self, thread_id: str, lower: tuple[int, str] | None, *, inclusive: bool
    ) -> list[Run]:
        """The thread's runs after `lower` (from it when `inclusive`), oldest first."""

        def later(run: Run) -> bool:
            return lower is None or _key(run) > lower or (inclusive and _key(run) == lower)

        found: dict[str, Run] = {}  # by id: a run created meanwhile shifts the pages
        offset = 0
        while True:
            page = await self._storage.list_runs(thread_id, limit=_PAGE, offset=offset)
            fresh = [r for r in page if later(r)]
            found.update((r.run_id, r) for r in fresh)
            if len(fresh) < len(page) or len(page) < _PAGE:
                return sorted(found.values(), key=_key)
            offset += _PAGE
