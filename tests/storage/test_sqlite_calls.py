"""Where the SQLite backend runs a call: on the event loop while its database thread is idle, on
that thread (behind what is queued there) otherwise, and on that thread whenever the file is
locked by another process, so that waiting for the lock never stops the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest

from agent_ops.errors import NotFound
from agent_ops.storage import create_storage
from agent_ops.storage.sqlite import SqliteStorage


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[SqliteStorage]:
    storage = create_storage(url)
    assert isinstance(storage, SqliteStorage)
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()


@contextmanager
def locked_by_another_process(url: str) -> Iterator[sqlite3.Connection]:
    """The file's write lock, held by a connection of its own (as another process would)."""
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.rollback()
        other.close()


@asynccontextmanager
async def loop_watch() -> AsyncIterator[list[float]]:
    """The longest the event loop went without running a task, in seconds (one element)."""
    longest = [0.0]

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            longest[0] = max(longest[0], now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        yield longest
    finally:
        ticker.cancel()


async def test_calls_run_on_the_loop_while_the_database_thread_is_idle(sqlite_url: str) -> None:
    async with opened(sqlite_url) as storage:
        on_thread = 0
        submit = storage._on_thread

        async def counted(fn):  # type: ignore[no-untyped-def]
            nonlocal on_thread
            on_thread += 1
            return await submit(fn)

        storage._on_thread = counted  # type: ignore[method-assign]
        made = await storage.create_thread(thread_id=str(uuid.uuid4()))
        assert (await storage.get_thread(made.thread_id)).thread_id == made.thread_id
        assert on_thread == 0


async def test_a_call_finding_the_file_locked_waits_on_the_thread_and_the_loop_runs_on(
    sqlite_url: str,
) -> None:
    async with opened(sqlite_url) as storage:
        thread_id = str(uuid.uuid4())
        with locked_by_another_process(sqlite_url) as other:
            async with loop_watch() as longest:
                create = asyncio.create_task(storage.create_thread(thread_id=thread_id))
                await asyncio.sleep(0.05)
                # Issued while the create waits for the lock: it queues behind it on the
                # thread (run here first, it would not find the thread yet).
                read = asyncio.create_task(storage.get_thread(thread_id))
                await asyncio.sleep(0.4)
                assert not create.done() and not read.done()
                other.commit()
                made = await asyncio.wait_for(create, 5)
                assert (await asyncio.wait_for(read, 5)).thread_id == made.thread_id
            assert longest[0] < 0.2, f"the loop stood still {longest[0]:.3f} s"
        # The thread is idle again: calls are back on the loop.
        assert (await storage.get_thread(thread_id)).thread_id == thread_id


async def test_a_caller_cancelled_while_its_call_waits_keeps_the_connection_on_the_thread(
    sqlite_url: str,
) -> None:
    async with opened(sqlite_url) as storage:
        waiting, after = str(uuid.uuid4()), str(uuid.uuid4())
        with locked_by_another_process(sqlite_url) as other:
            create = asyncio.create_task(storage.create_thread(thread_id=waiting))
            await asyncio.sleep(0.05)
            create.cancel()
            with pytest.raises(asyncio.CancelledError):
                await create
            # The cancelled call still holds the connection on the thread (it waits in SQLite
            # for the lock): the next call may not run here beside it, so it waits too.
            second = asyncio.create_task(storage.create_thread(thread_id=after))
            await asyncio.sleep(0.3)
            assert not second.done()
            other.commit()
            await asyncio.wait_for(second, 5)
        # The cancelled call went on once it had the lock, as a statement already sent does.
        for thread_id in (waiting, after):
            assert (await storage.get_thread(thread_id)).thread_id == thread_id


async def test_a_call_failing_on_the_loop_for_another_reason_is_not_run_again(
    sqlite_url: str,
) -> None:
    async with opened(sqlite_url) as storage:
        calls = 0

        def failing(tx: object) -> None:
            nonlocal calls
            calls += 1
            raise sqlite3.OperationalError("no such table: missing")

        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await storage._tx(failing)
        assert calls == 1
        with pytest.raises(NotFound):
            await storage.get_thread(str(uuid.uuid4()))
