"""A request that queues a run and is cancelled while the run is being written (the client gave
up, the server is stopping) must neither strand the run nor leak the worker slot offered to it,
on both backends.

The hand-off writes a run already claimed by this process's free worker. If the caller is
cancelled after that commit, nobody else will claim the run until its lease lapses (a handed run
wakes no worker), so the pool looks the run up and starts it itself; if the write never
committed, the slot comes back. The cancellation is made at each side of the commit by wrapping
the store's `create_run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from agent_ops.runtime import RunOptions, RunRequest, Runtime
from agent_ops.storage import Run
from tests.runtimes import started_runtimes
from tests.servers import TEST_GRAPHS

# Long enough that a run left to its lease or to the next poll would fail the test's wait.
LEASE_SECONDS = 120.0
POLL_SECONDS = 120.0
ECHO = RunRequest("echo", RunOptions(input={"messages": [("user", "hi")]}))


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    async with started_runtimes(database_url, TEST_GRAPHS) as start:
        yield await start(workers=1, poll_seconds=POLL_SECONDS, lease_seconds=LEASE_SECONDS)


def _hold_create_run(runtime: Runtime, *, before_commit: bool) -> tuple[asyncio.Event, list[str]]:
    """Make the next `create_run` stop (forever) before or after its write; return the event set
    when it stops there and the run ids it was asked to write."""
    real: Callable[..., Awaitable[Run]] = runtime.storage.create_run
    stopped = asyncio.Event()
    asked: list[str] = []

    async def held(**kwargs: Any) -> Run:
        asked.append(kwargs["run_id"])
        if before_commit:
            stopped.set()
            await asyncio.Event().wait()
        run = await real(**kwargs)
        stopped.set()
        await asyncio.Event().wait()
        return run

    runtime.storage.create_run = held  # type: ignore[method-assign]
    return stopped, asked


async def _cancel_once_stopped(task: asyncio.Task[Run], stopped: asyncio.Event) -> None:
    await asyncio.wait_for(stopped.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_run_written_for_a_cancelled_request_is_started_here_at_once(
    runtime: Runtime,
) -> None:
    thread = await runtime.threads.create()
    stopped, asked = _hold_create_run(runtime, before_commit=False)
    task = asyncio.create_task(runtime.runs.create(thread.thread_id, ECHO))
    await _cancel_once_stopped(task, stopped)
    [run_id] = asked
    # Not after its lease or a poll (both 120 s): the pool adopted the run it was handed.
    finished = await asyncio.wait_for(runtime.runs.join(run_id, thread_id=thread.thread_id), 15)
    assert finished.status == "success", finished.error
    assert finished.attempt == 1  # started once, by the hand-off, not taken back
    assert finished.worker_id is not None and runtime.workers is not None
    assert finished.worker_id == runtime.workers.worker_id


async def test_a_cancelled_request_whose_run_never_committed_gives_its_slot_back(
    runtime: Runtime,
) -> None:
    thread = await runtime.threads.create()
    stopped, asked = _hold_create_run(runtime, before_commit=True)
    real_get = runtime.storage.get_run
    looked: list[str] = []
    looked_up = asyncio.Event()

    async def get_run(run_id: str, **kwargs: Any) -> Run:
        try:
            return await real_get(run_id, **kwargs)
        finally:
            looked.append(run_id)
            looked_up.set()  # the pool acts on the answer before this test runs again

    runtime.storage.get_run = get_run  # type: ignore[method-assign]
    task = asyncio.create_task(runtime.runs.create(thread.thread_id, ECHO))
    await _cancel_once_stopped(task, stopped)
    del runtime.storage.create_run, runtime.storage.get_run  # the store's own again
    [lost] = asked
    await asyncio.wait_for(looked_up.wait(), 10)
    assert looked == [lost]  # the pool looked for the run, found none
    # The pool has one slot: had the cancelled offer kept it, this run would be queued pending
    # (to wait for the 120 s poll) instead of handed to the worker.
    run = await runtime.runs.create(thread.thread_id, ECHO)
    assert runtime.workers is not None
    assert (run.status, run.worker_id) == ("running", runtime.workers.worker_id)
    finished = await asyncio.wait_for(runtime.runs.join(run.run_id, thread_id=thread.thread_id), 15)
    assert finished.status == "success", finished.error
