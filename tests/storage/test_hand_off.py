"""The hand-off, on both backends: a run queued with a free worker of the creating process
(`create_run(worker_id=...)`) comes back already claimed by it when it may start at once, and is
then a claimed run like any other: its lease is renewed, it finishes, and when its worker dies
another takes it back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from agent_ops.storage import RUN_QUEUED, RUN_STARTED, Run, Storage, create_storage
from agent_ops.types import MultitaskStrategy

BACKENDS = ["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)]
SHORT_LEASE = 0.2


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    store = create_storage(request.getfixturevalue(request.param))
    await store.open()
    yield store
    await store.close()


def new_id() -> str:
    return str(uuid.uuid4())


async def offer(
    storage: Storage,
    thread_id: str,
    *,
    worker: str = "w1",
    lease: float = 30.0,
    strategy: MultitaskStrategy = "reject",
    after_seconds: float = 0.0,
) -> Run:
    """Queue a run on `thread_id` (created if missing) offering it to `worker`."""
    return await storage.create_run(
        run_id=new_id(),
        thread_id=thread_id,
        assistant_id="echo",
        kwargs={},
        if_not_exists="create",
        multitask_strategy=strategy,
        after_seconds=after_seconds,
        worker_id=worker,
        lease_seconds=lease,
    )


async def claim(storage: Storage, worker: str) -> list[Run]:
    return await storage.claim_runs(worker_id=worker, lease_seconds=30, max_attempts=3, limit=5)


async def test_a_run_offered_to_a_free_worker_comes_back_claimed_by_it(storage: Storage) -> None:
    thread_id = new_id()
    await storage.create_thread(thread_id=thread_id)
    run = await offer(storage, thread_id)
    assert (run.status, run.worker_id, run.attempt) == ("running", "w1", 1)
    assert run.lease_expires_at is not None and run.lease_expires_at > run.created_at
    assert await claim(storage, "w2") == []  # nobody else can take it while the lease holds
    assert (await storage.get_thread(thread_id)).status == "busy"
    lease = await storage.renew_lease(run.run_id, worker_id="w1", lease_seconds=30)
    assert lease.held
    finished = await storage.finish_run(run.run_id, worker_id="w1", status="success")
    assert finished is not None and finished.status == "success"
    assert (await storage.get_thread(thread_id)).status == "idle"


async def test_a_run_that_creates_its_thread_is_handed_too(storage: Storage) -> None:
    run = await offer(storage, new_id())
    assert (run.status, run.worker_id, run.attempt) == ("running", "w1", 1)


async def test_a_run_that_cannot_start_at_once_is_queued_pending_despite_the_offer(
    storage: Storage,
) -> None:
    thread_id = new_id()
    first = await offer(storage, thread_id)
    behind = await offer(storage, thread_id, strategy="enqueue")
    replacing = await offer(storage, thread_id, strategy="interrupt")
    delayed = await offer(storage, new_id(), after_seconds=60)
    for run in (behind, replacing, delayed):
        assert (run.status, run.worker_id, run.lease_expires_at, run.attempt) == (
            "pending",
            None,
            None,
            0,
        )
    assert first.status == "running"
    # The queue goes on as before: `interrupt` ended the pending run behind and flagged the
    # running one; once that one ends, the replacing run is claimed.
    assert (await storage.get_run(behind.run_id)).status == "interrupted"
    await storage.finish_run(first.run_id, worker_id="w1", status="interrupted")
    assert [r.run_id for r in await claim(storage, "w2")] == [replacing.run_id]


async def test_a_handed_run_whose_worker_died_is_taken_back(storage: Storage) -> None:
    thread_id = new_id()
    run = await offer(storage, thread_id, lease=SHORT_LEASE)
    assert await claim(storage, "w2") == []
    await asyncio.sleep(SHORT_LEASE + 0.1)  # w1's process died: its lease lapses
    [taken] = await claim(storage, "w2")
    assert (taken.run_id, taken.worker_id, taken.attempt) == (run.run_id, "w2", 2)
    assert await storage.finish_run(run.run_id, worker_id="w1", status="success") is None


async def test_a_handed_run_of_a_worker_known_dead_is_taken_back_at_once(
    storage: Storage,
) -> None:
    run = await offer(storage, new_id())
    assert await storage.expire_leases(["w1"]) == 1
    [taken] = await claim(storage, "w2")
    assert (taken.run_id, taken.worker_id, taken.attempt) == (run.run_id, "w2", 2)


async def test_a_handed_run_raises_run_started_not_run_queued_so_no_worker_wakes_to_claim_it(
    storage: Storage,
) -> None:
    heard: dict[str, list[str]] = {RUN_QUEUED: [], RUN_STARTED: []}
    for channel, runs in heard.items():
        storage.listen(channel, runs.append)
    thread_id = new_id()
    await storage.create_thread(thread_id=thread_id)
    handed = await offer(storage, thread_id)  # the one-statement queuing path
    created = await offer(storage, new_id())  # the path that creates its thread
    behind = await offer(storage, thread_id, strategy="enqueue")  # cannot start at once
    assert (handed.status, created.status, behind.status) == ("running", "running", "pending")
    deadline = asyncio.get_running_loop().time() + 5
    while len(heard[RUN_STARTED]) < 2 or not heard[RUN_QUEUED]:
        assert asyncio.get_running_loop().time() < deadline, f"wake-ups heard: {heard}"
        await asyncio.sleep(0.01)
    assert sorted(heard[RUN_STARTED]) == sorted([handed.run_id, created.run_id])
    assert heard[RUN_QUEUED] == [behind.run_id]
