"""An action and its audit row commit together, on both backends: a state change given its row
(`audit=`) appends it in its own transaction, so a failure between the two leaves neither, and
concurrent actions still chain their rows gaplessly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from agent_ops.errors import Conflict, NotFound
from agent_ops.governance import audit
from agent_ops.storage import AuditEntry, AuditRecord, Run, Storage, create_storage

BACKENDS = ["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)]
WORKER = "worker-1"


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    store = create_storage(request.getfixturevalue(request.param), pool_size=20)
    await store.open()
    yield store
    await store.close()


def new_id() -> str:
    return str(uuid.uuid4())


def crashing(entry: AuditEntry) -> AuditEntry:
    """The entry, but the process fails while sealing it: after the action's writes, before
    its record is in the chain."""

    def seal(seq: int, prev_hash: str) -> AuditRecord:
        raise RuntimeError(f"crashed before record {seq} was written")

    return replace(entry, seal=seal)


def refused(entry: AuditEntry) -> AuditEntry:
    """The entry, but the database refuses its row (it has no `detail`, which the table
    requires). Not a taken sequence: PostgreSQL finds the row's place in the statement that
    writes it, so a sealed row cannot claim one (tests/storage/test_audit_in_statement.py
    refuses a taken one there)."""

    def seal(seq: int, prev_hash: str) -> AuditRecord:
        return replace(entry.seal(seq, prev_hash), detail=None)  # type: ignore[arg-type]

    return replace(entry, seal=seal)


async def actions(store: Storage) -> list[str]:
    return [row.action for row in await store.read_audit(limit=100)]


async def queue(
    store: Storage, thread_id: str, entry: AuditEntry | None, run_id: str = "", **extra: str
) -> str:
    """Queue a run (a new id unless `run_id`) on `thread_id` with `entry` as its record."""
    run_id = run_id or new_id()
    await store.create_run(
        run_id=run_id,
        thread_id=thread_id,
        assistant_id="echo",
        kwargs={},
        if_not_exists="create",
        audit=entry,
        **extra,  # type: ignore[arg-type]
    )
    return run_id


async def test_a_queued_run_and_its_record_commit_together(storage: Storage) -> None:
    run_id = new_id()
    thread_id = new_id()
    entry = audit.entry("run.create", "run", run_id, detail={"thread_id": thread_id})
    await queue(storage, thread_id, entry, run_id=run_id)
    rows = await storage.read_audit(limit=10)
    assert [(r.action, r.resource_id, r.seq) for r in rows] == [("run.create", run_id, 1)]
    assert (await storage.get_run(run_id)).status == "pending"


async def test_a_crash_while_recording_a_run_leaves_neither_run_nor_thread(
    storage: Storage,
) -> None:
    thread_id = new_id()
    with pytest.raises(RuntimeError, match="crashed before record 1"):
        await queue(storage, thread_id, crashing(audit.entry("run.create", "run", "r")))
    with pytest.raises(NotFound):
        await storage.get_thread(thread_id)
    assert await actions(storage) == []


async def test_a_record_the_database_refuses_rolls_back_the_run(storage: Storage) -> None:
    await audit.record(storage, "thread.create", "thread", "first")  # takes sequence 1
    thread_id = new_id()
    await storage.create_thread(thread_id=thread_id)
    with pytest.raises(Exception, match="(?i)not.null"):
        await queue(storage, thread_id, refused(audit.entry("run.create", "run", "r")))
    assert await storage.list_runs(thread_id) == []
    assert (await storage.get_thread(thread_id)).status == "idle"
    assert await actions(storage) == ["thread.create"]


async def test_a_refused_run_writes_no_record(storage: Storage) -> None:
    thread_id = new_id()
    await queue(storage, thread_id, audit.entry("run.create", "run", "a"))
    with pytest.raises(Conflict, match="is busy"):
        await queue(storage, thread_id, audit.entry("run.create", "run", "b"))
    assert await actions(storage) == ["run.create"]


async def test_a_finished_run_and_its_outcome_record_commit_together(storage: Storage) -> None:
    run_id = await queue(storage, new_id(), None)
    [claimed] = await storage.claim_runs(worker_id=WORKER, lease_seconds=30, max_attempts=3)
    assert claimed.run_id == run_id
    with pytest.raises(RuntimeError, match="crashed"):
        await storage.finish_run(
            run_id,
            worker_id=WORKER,
            status="success",
            audit=crashing(audit.entry("run.success", "run", run_id)),
        )
    assert (await storage.get_run(run_id)).status == "running"  # the ending rolled back too
    assert await actions(storage) == []
    finished = await storage.finish_run(
        run_id,
        worker_id=WORKER,
        status="success",
        audit=audit.entry("run.success", "run", run_id),
    )
    assert finished is not None and finished.status == "success"
    assert await actions(storage) == ["run.success"]


async def test_a_finish_after_the_lease_was_lost_records_nothing(storage: Storage) -> None:
    run_id = await queue(storage, new_id(), None)
    await storage.claim_runs(worker_id=WORKER, lease_seconds=30, max_attempts=3)
    lost = await storage.finish_run(
        run_id,
        worker_id="another-worker",
        status="success",
        audit=audit.entry("run.success", "run", run_id),
    )
    assert lost is None
    assert await actions(storage) == []


async def test_a_crash_while_recording_a_new_thread_leaves_no_thread(storage: Storage) -> None:
    thread_id = new_id()
    with pytest.raises(RuntimeError, match="crashed"):
        await storage.create_thread(
            thread_id=thread_id,
            audit=crashing(audit.entry("thread.create", "thread", thread_id)),
        )
    with pytest.raises(NotFound):
        await storage.get_thread(thread_id)
    await storage.create_thread(
        thread_id=thread_id, audit=audit.entry("thread.create", "thread", thread_id)
    )
    assert await actions(storage) == ["thread.create"]


async def test_concurrent_actions_chain_their_records_gaplessly(storage: Storage) -> None:
    """Runs queued, claimed and finished concurrently, with records of their own beside them,
    all in one tenant's chain: distinct, gapless sequences and an intact chain."""

    async def one(n: int) -> None:
        thread_id = new_id()
        await storage.create_thread(
            thread_id=thread_id, audit=audit.entry("thread.create", "thread", thread_id)
        )
        run_id = await queue(storage, thread_id, audit.entry("run.create", "run", str(n)))
        await audit.record(storage, "run.cancel", "run", run_id)  # a row in its own transaction

    await asyncio.gather(*(one(n) for n in range(30)))
    claimed = await storage.claim_runs(worker_id=WORKER, lease_seconds=30, max_attempts=3, limit=30)
    assert len(claimed) == 30
    await asyncio.gather(
        *(
            storage.finish_run(
                run.run_id,
                worker_id=WORKER,
                status="success",
                audit=audit.entry("run.success", "run", run.run_id),
            )
            for run in claimed
        )
    )
    rows = await storage.read_audit(limit=1000)
    assert [r.seq for r in rows] == list(range(1, 121))
    found = await audit.verify(storage)
    assert found.ok and found.rows == 120, found.describe()


async def test_racing_writes_of_one_thread_record_each_action_once_without_deadlock(
    storage: Storage,
) -> None:
    """The same thread created by many requests at once, runs queued on it while earlier ones
    finish there, and records of their own beside them, all in one tenant's chain: only the
    writes that happened are recorded, nothing deadlocks (the chain's head is each transaction's
    last lock, also where it is locked inside the action's own statement), the chain is intact."""
    thread_id = new_id()

    async def create() -> None:
        await storage.create_thread(
            thread_id=thread_id,
            if_exists="do_nothing",
            audit=audit.entry("thread.create", "thread", thread_id),
        )

    await asyncio.gather(*(create() for _ in range(10)))

    async def enqueue(n: int) -> None:
        entry = audit.entry("run.create", "run", str(n))
        await queue(storage, thread_id, entry, multitask_strategy="enqueue")
        await audit.record(storage, "run.cancel", "run", str(n))

    async def finish_one() -> None:
        # The thread's runs go one at a time: claim the next, finish it with its record.
        taken: list[Run] = []
        for _ in range(2000):
            taken = await storage.claim_runs(
                worker_id=WORKER, lease_seconds=30, max_attempts=3, limit=1
            )
            if taken:
                break
            await asyncio.sleep(0.005)  # the next run is not queued yet
        assert taken, "a queued run was never claimable"
        run = taken[0]
        await storage.finish_run(
            run.run_id,
            worker_id=WORKER,
            status="success",
            audit=audit.entry("run.success", "run", run.run_id),
        )

    async def finish_all(n: int) -> None:
        for _ in range(n):
            await finish_one()

    await asyncio.gather(finish_all(12), *(enqueue(n) for n in range(12)))
    rows = await storage.read_audit(limit=1000)
    assert [r.action for r in rows].count("thread.create") == 1
    assert [r.action for r in rows].count("run.success") == 12
    assert [r.seq for r in rows] == list(range(1, 1 + 1 + 3 * 12))
    found = await audit.verify(storage)
    assert found.ok and found.rows == 37, found.describe()
