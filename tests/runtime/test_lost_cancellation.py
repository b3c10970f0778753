"""A cancellation a task loses must not hang whoever stops it, on both backends.

On Python 3.11 `asyncio.wait_for` returns the inner result when a cancel lands just as that
completes, and psycopg_pool waits for a free connection that way: under load (16 clients, 8
runs, a pool of 10) a run's stream flusher, cancelled when the run ended, went on flushing
forever, the run's ending waited for it, and the run stayed `running` until its lease lapsed
and another claim ran it again (a 26 s stall in the benchmark, and a worker slot lost for
good). Here the lost cancel is made on purpose, the same way on every Python: the task swallows
the first `CancelledError` it gets, as the raced `wait_for` does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agent_ops.runtime.periodic import cancel_and_wait
from agent_ops.runtime.streams import StreamBus
from agent_ops.storage import RunEvent, Storage
from tests.storage.test_conformance import new_thread, queue_run


async def _loses_first_cancel(lost: asyncio.Event) -> None:
    """A loop whose first wait swallows its cancel, as a raced `wait_for` does."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        lost.set()
    # A loop of work, each step a wait the next cancel lands in.
    while True:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def test_one_cancel_is_lost_and_cancel_and_wait_still_ends_the_task() -> None:
    lost = asyncio.Event()
    task = asyncio.create_task(_loses_first_cancel(lost))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait_for(lost.wait(), 5)
    # What the code did before: one cancel, then wait for the task. It never ends.
    done, _ = await asyncio.wait({task}, timeout=0.5)
    assert not done
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert task.cancelled()


async def test_cancel_and_wait_leaves_no_error_unretrieved_and_returns_for_ended_tasks() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(cancel_and_wait(failed, finished), 5)  # ended already: no wait
    assert isinstance(failed.exception(), RuntimeError) and finished.result() is None


async def test_a_run_ends_although_its_flusher_lost_the_cancel_and_each_event_is_kept_once(
    storage: Storage,
) -> None:
    run_id = (await queue_run(storage, await new_thread(storage))).run_id
    real = storage.append_events
    waiting = asyncio.Event()
    lost = asyncio.Event()

    async def append_events(run: str, events: list[RunEvent], **kwargs: Any) -> None:
        waiting.set()
        try:
            await asyncio.sleep(30)  # for a pool connection
        except asyncio.CancelledError:
            lost.set()  # the connection came as the cancel landed: the write goes on
        await real(run, events, **kwargs)

    storage.append_events = append_events  # type: ignore[method-assign]
    bus = StreamBus(storage, flush_seconds=0.01)
    try:
        stream = await bus.start(run_id)
        published = [stream.publish("values", f'{{"n": {n}}}'.encode()) for n in range(3)]
        await asyncio.wait_for(waiting.wait(), 5)  # the flusher is writing them
        # Not `wait_for`: on 3.11 it can return a settle it cancelled once its time is up.
        settling = asyncio.create_task(bus.settle(stream))
        done, _ = await asyncio.wait({settling}, timeout=5)
        assert done, "the run's ending still waits for the flusher"
        left = settling.result()
    finally:
        await bus.close()
    assert lost.is_set()
    del storage.append_events  # the store's own again
    stored = await storage.read_events(run_id, after_seq=0)
    # Stored by the flush that lost its cancel, or left for the run's ending: once either way.
    assert sorted(e.seq for e in [*stored, *left]) == [e.seq for e in published]


async def test_closing_the_bus_returns_only_once_its_flushers_have_stopped_writing(
    storage: Storage,
) -> None:
    """The service closes the bus and then the storage: a flusher still writing then would
    write through a closed pool. `close` waits for every flusher, one mid-write included."""
    run_id = (await queue_run(storage, await new_thread(storage))).run_id
    real = storage.append_events
    writing = asyncio.Event()
    in_write = False

    async def append_events(run: str, events: list[RunEvent], **kwargs: Any) -> None:
        nonlocal in_write
        in_write = True
        writing.set()
        try:
            await asyncio.sleep(0.2)  # a slow write
            await real(run, events, **kwargs)
        finally:
            in_write = False

    storage.append_events = append_events  # type: ignore[method-assign]
    bus = StreamBus(storage, flush_seconds=0.01)
    stream = await bus.start(run_id)
    stream.publish("values", b'{"n": 1}')
    await asyncio.wait_for(writing.wait(), 5)
    async with asyncio.timeout(5):  # not `wait_for`: it runs `close` in a task of its own
        await bus.close()
    assert not in_write  # the write was stopped, not left running past the close
    del storage.append_events
