"""Audit rows written inside the action's own statement (PostgreSQL hashes them in SQL from
`hash_parts`): every path that records an action leaves rows the Python verifier accepts,
chained without gaps, whatever their text; each action costs the statements it should; the
wake-ups the statement chooses reach other processes once. Both backends where the behaviour
is shared, so SQLite's Python sealing stays the reference."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from agent_ops.errors import Conflict, NotFound
from agent_ops.governance import audit
from agent_ops.storage import (
    RUN_DONE,
    RUN_QUEUED,
    RUN_STARTED,
    AuditEntry,
    AuditRecord,
    Run,
    Storage,
    create_storage,
)
from agent_ops.storage.postgres.runs import _FINISH_ROUTINE, _QUEUE_ROUTINE

WORKER = "worker-1"
LEASE = 30.0
# Text a canonical JSON spelling must carry through SQL byte for byte: several scripts, emoji,
# control characters (escaped by JSON), quotes, backslashes, the spellings the parts are cut at.
AWKWARD = {
    "scripts": "Grüße, Ελληνικά, Русский, עברית, العربية, हिन्दी, 日本語, 한국어",
    "emoji": "🙂👩🏽‍💻🏳️‍🌈",
    "controls": "tab\there\nnew line\r\x01\x1f\x7f\u2028\u2029",
    "quotes": 'a "quoted" \\ back\\slash',
    "spellings": '"prev_hash":"' + "0" * 64 + '","seq":0,"seq":1',
    "nested": {"prev_hash": "f" * 64, "seq": 7, "list": [None, True, 1.5, "ünï"]},
}


def new_id() -> str:
    return str(uuid.uuid4())


@asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[Storage]:
    """A storage opened on `url` for the block (one more process on the same database)."""
    storage = create_storage(url, **options)
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()


async def rows_of(storage: Storage, tenant: str | None = None) -> list[AuditRecord]:
    return await storage.read_audit(tenant_id=tenant, limit=10_000)


async def assert_chained(storage: Storage, tenant: str | None = None) -> list[AuditRecord]:
    """Every row's hash is what Python's `row_hash` computes, each chain starts at 1 from the
    genesis hash and goes on without a gap; return the rows."""
    rows = await rows_of(storage, tenant)
    previous: dict[str, AuditRecord] = {}
    for row in rows:
        assert row.hash == audit.row_hash(row), f"row {row.seq} of {row.tenant_id}"
        before = previous.get(row.tenant_id)
        assert row.seq == (1 if before is None else before.seq + 1)
        assert row.prev_hash == (audit.GENESIS if before is None else before.hash)
        previous[row.tenant_id] = row
    found = await audit.verify(storage, tenant=tenant)
    assert found.ok and found.rows == len(rows), found.describe()
    return rows


async def claim_one(storage: Storage) -> str:
    [run] = await storage.claim_runs(worker_id=WORKER, lease_seconds=LEASE, max_attempts=3)
    return run.run_id


async def finish(
    storage: Storage, run_id: str, status: str = "success", worker: str = WORKER, **facts: Any
) -> Run | None:
    """Finish a run with the record of its outcome (`run.<status>`)."""
    return await storage.finish_run(
        run_id,
        worker_id=worker,
        status=status,  # type: ignore[arg-type]
        error="boom" if status == "error" else None,
        audit=audit.entry(f"run.{status}", "run", run_id, **facts),
    )


async def queue(
    storage: Storage,
    thread_id: str,
    strategy: str = "reject",
    entry: AuditEntry | None = None,
    **extra: Any,
) -> str:
    """Queue a run with its record (`run.create` naming the strategy unless `entry`)."""
    run_id = new_id()
    await storage.create_run(
        run_id=run_id,
        thread_id=thread_id,
        assistant_id="echo",
        kwargs={},
        multitask_strategy=strategy,  # type: ignore[arg-type]
        audit=entry or audit.entry("run.create", "run", run_id, detail={"strategy": strategy}),
        **extra,
    )
    return run_id


async def test_every_path_that_records_an_action_writes_rows_python_verifies(
    storage: Storage,
) -> None:
    thread_id = new_id()
    await storage.create_thread(
        thread_id=thread_id, audit=audit.entry("thread.create", "thread", thread_id)
    )
    first = await queue(storage, thread_id)  # reject, thread idle: the one-statement path
    waiting = await queue(storage, thread_id, "enqueue")  # behind the first
    assert await claim_one(storage) == first
    interrupting = await queue(storage, thread_id, "interrupt")  # ends and flags in flight
    assert (await storage.get_run(waiting)).status == "interrupted"
    done = await finish(storage, first, "interrupted")
    assert done is not None and done.status == "interrupted"
    assert await claim_one(storage) == interrupting
    rolling = await queue(storage, thread_id, "rollback")
    failed = await finish(storage, interrupting, "error", outcome="error")
    assert failed is not None and failed.status == "error"
    assert await claim_one(storage) == rolling
    ok = await finish(storage, rolling)
    assert ok is not None and ok.status == "success"
    elsewhere = await queue(storage, new_id(), if_not_exists="create")  # a thread made for it
    await audit.record(storage, "run.cancel", "run", elsewhere)  # a row alone
    rows = await assert_chained(storage)
    assert [(r.action, r.resource_id) for r in rows] == [
        ("thread.create", thread_id),
        ("run.create", first),
        ("run.create", waiting),
        ("run.create", interrupting),
        ("run.interrupted", first),
        ("run.create", rolling),
        ("run.error", interrupting),
        ("run.success", rolling),
        ("run.create", elsewhere),
        ("run.cancel", elsewhere),
    ]
    assert [r.outcome for r in rows].count("error") == 1


async def test_unicode_long_and_missing_fields_hash_the_same_in_sql(storage: Storage) -> None:
    long_detail = {"text": "ab😀c\n" * 20_000, **AWKWARD}
    thread_id = new_id()
    await storage.create_thread(
        thread_id=thread_id,
        audit=audit.entry("thread.create", "thread", thread_id, detail=AWKWARD, payload=AWKWARD),
    )
    entry = audit.entry("run.create", "run", None, detail=long_detail, actor="cli:ünï")
    run_id = await queue(storage, thread_id, entry=entry)
    await claim_one(storage)
    await finish(storage, run_id, detail=None, payload=None)
    await audit.record(storage, "note", "thread", '日本語 🙂 "x"', detail=AWKWARD)
    rows = await assert_chained(storage)
    assert len(rows) == 4
    assert rows[1].resource_id is None and rows[1].actor == "cli:ünï"
    assert json.loads(rows[1].detail) == long_detail and len(rows[1].detail) > 100_000
    assert rows[2].digest is None and rows[2].actor_role is None and rows[2].via is None
    assert rows[3].resource_id == '日本語 🙂 "x"' and "👩🏽‍💻" in rows[3].detail


async def test_a_new_tenants_chain_starts_from_genesis_beside_others(storage: Storage) -> None:
    await audit.record(storage, "note", "thread", "a")  # the default tenant's chain
    tenant = f"tenant-ü-{new_id()}"
    thread_id = new_id()
    await storage.create_thread(
        thread_id=thread_id,
        tenant_id=tenant,
        audit=audit.entry("thread.create", "thread", thread_id, tenant=tenant),
    )
    await audit.record(storage, "note", "thread", "b", tenant=tenant)
    [own_first, own_second] = await assert_chained(storage, tenant)
    assert (own_first.seq, own_first.prev_hash) == (1, audit.GENESIS)
    assert (own_second.seq, own_second.prev_hash) == (2, own_first.hash)
    [other] = await assert_chained(storage, "default")
    assert (other.seq, other.prev_hash) == (1, audit.GENESIS)


async def test_actions_that_write_nothing_record_nothing(storage: Storage) -> None:
    thread_id = new_id()
    entry = audit.entry("thread.create", "thread", thread_id)
    await storage.create_thread(thread_id=thread_id, audit=entry)
    again = await storage.create_thread(thread_id=thread_id, if_exists="do_nothing", audit=entry)
    assert again.thread_id == thread_id  # the id was taken: no second row
    await queue(storage, thread_id)
    with pytest.raises(Conflict):
        await queue(storage, thread_id)  # refused: no row
    await claim_one(storage)
    runs = await storage.list_runs(thread_id)
    lost = await finish(storage, runs[0].run_id, worker="not-the-holder")
    assert lost is None
    rows = await assert_chained(storage)
    assert [r.action for r in rows] == ["thread.create", "run.create"]


async def test_many_concurrent_actions_on_one_tenant_chain_without_gap_or_deadlock(
    database_url: str,
) -> None:
    async with opened(database_url, pool_size=20) as storage:

        async def life(n: int) -> None:
            thread_id = new_id()
            await storage.create_thread(
                thread_id=thread_id, audit=audit.entry("thread.create", "thread", thread_id)
            )
            run_id = await queue(storage, thread_id)
            await audit.record(storage, "note", "run", run_id, detail={"n": n})
            assert await finish(storage, run_id) is None  # not claimed: nothing recorded

        await asyncio.wait_for(asyncio.gather(*(life(n) for n in range(40))), timeout=120)
        claimed = await storage.claim_runs(
            worker_id=WORKER, lease_seconds=LEASE, max_attempts=3, limit=40
        )
        assert len(claimed) == 40
        await asyncio.wait_for(
            asyncio.gather(
                *(finish(storage, run.run_id) for run in claimed),
                *(audit.record(storage, "note", "thread", str(n)) for n in range(40)),
            ),
            timeout=120,
        )
        rows = await assert_chained(storage)
        assert [r.seq for r in rows] == list(range(1, 1 + 40 * 5))
        assert len({r.hash for r in rows}) == len(rows)


# -- PostgreSQL only: what the statement itself costs and refuses -------------------------------


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Storage]:
    async with opened(pg_url) as storage:
        yield storage


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Any]:
    """Record the statements this process sends (BEGIN and COMMIT of a transaction included);
    `with sent() as log:` collects those of its block."""
    log: list[str] = []
    recording = [False]
    real_execute = psycopg.AsyncCursor.execute
    real_transaction = psycopg.AsyncConnection.transaction

    async def execute(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if recording[0]:
            log.append(query if isinstance(query, str) else repr(query))
        return await real_execute(cur, query, *args, **kwargs)

    @asynccontextmanager
    async def transaction(conn: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if recording[0]:
            log.append("BEGIN")
        async with real_transaction(conn, *args, **kwargs) as tx:
            yield tx
        if recording[0]:
            log.append("COMMIT")

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", execute)
    monkeypatch.setattr(psycopg.AsyncConnection, "transaction", transaction)

    @asynccontextmanager
    async def collect() -> AsyncIterator[list[str]]:
        log.clear()
        recording[0] = True
        try:
            yield log
        finally:
            recording[0] = False

    return collect


def audit_statements(log: list[str]) -> Iterator[str]:
    return (s for s in log if "audit" in s)


@pytest.mark.postgres
async def test_each_action_appends_its_row_in_its_own_statement(
    pg: Storage, sent: Callable[[], Any]
) -> None:
    thread_id = new_id()
    async with sent() as log:
        await pg.create_thread(
            thread_id=thread_id, audit=audit.entry("thread.create", "thread", thread_id)
        )
    assert len(log) == 1, log  # autocommit: no BEGIN, no COMMIT, no second statement
    assert "INSERT INTO threads" in log[0] and "audit_log" in log[0]

    # Queuing and finishing lock the thread and then write: one call of a routine doing both
    # (storage/postgres/routines.py), autocommit; its statement appends the row.
    async with sent() as log:
        run_id = await queue(pg, thread_id)
    assert len(log) == 1 and "FROM agent_ops_queue_run_" in log[0], log
    assert "audit_log" in _QUEUE_ROUTINE.definition
    assert [r.action for r in await pg.read_audit(limit=10)][-1] == "run.create"

    await claim_one(pg)
    async with sent() as log:
        await finish(pg, run_id)
    assert len(log) == 1 and "FROM agent_ops_finish_run_" in log[0], log
    assert "audit_log" in _FINISH_ROUTINE.definition
    assert [r.action for r in await pg.read_audit(limit=10)][-1] == "run.success"

    async with sent() as log:
        await audit.record(pg, "run.cancel", "run", run_id)
    assert len(log) == 1 and "audit_log" in log[0], log

    async with sent() as log:  # the other strategies: the row is the transaction's last statement
        await queue(pg, thread_id, "interrupt")
    assert log[-1] == "COMMIT" and "audit_log" in log[-2]
    assert len(list(audit_statements(log))) == 1 and "pg_notify" in log[-2]
    await assert_chained(pg)


@pytest.mark.postgres
async def test_a_row_whose_place_is_taken_rolls_back_the_action(pg: Storage, pg_url: str) -> None:
    """The chain's head moved back (as if out of step with the log): the row's seq is taken,
    so the statement fails and the action is not done either."""
    await audit.record(pg, "note", "thread", "first")
    thread_id = new_id()
    await pg.create_thread(thread_id=thread_id)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("UPDATE audit_heads SET seq = 0, hash = %s", (audit.GENESIS,))
    with pytest.raises(psycopg.errors.UniqueViolation, match="audit_log"):
        await queue(pg, thread_id)
    assert await pg.list_runs(thread_id) == []
    other = new_id()
    with pytest.raises(psycopg.errors.UniqueViolation):
        await pg.create_thread(thread_id=other, audit=audit.entry("thread.create", "thread", other))
    with pytest.raises(NotFound):
        await pg.get_thread(other)
    assert [r.action for r in await rows_of(pg)] == ["note"]


class Inbox:
    """A listener keeping every payload it hears, in order."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self._arrived = asyncio.Event()

    def __call__(self, payload: str) -> None:
        self.got.append(payload)
        self._arrived.set()

    async def wait_for(self, *payloads: str, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while not all(p in self.got for p in payloads):
                self._arrived.clear()
                await self._arrived.wait()


@pytest.mark.postgres
async def test_wakeups_chosen_by_the_statement_reach_another_process_once(
    pg: Storage, pg_url: str
) -> None:
    async with opened(pg_url) as other:
        heard = {ch: Inbox() for ch in (RUN_QUEUED, RUN_STARTED, RUN_DONE)}
        here = {ch: Inbox() for ch in (RUN_QUEUED, RUN_STARTED, RUN_DONE)}
        for channel in heard:
            other.listen(channel, heard[channel])
            pg.listen(channel, here[channel])
        thread_id = new_id()
        await pg.create_thread(thread_id=thread_id)
        first = await queue(pg, thread_id)
        second = await queue(pg, thread_id, "enqueue")
        await heard[RUN_QUEUED].wait_for(first, second)
        assert await claim_one(pg) == first
        await finish(pg, first)
        await heard[RUN_DONE].wait_for(first)
        await heard[RUN_QUEUED].wait_for(second)  # the thread's next run may go now
        idle = new_id()
        await pg.create_thread(thread_id=idle)
        handed = await queue(pg, idle, worker_id=WORKER, lease_seconds=LEASE)  # one statement
        made = await queue(
            pg, new_id(), if_not_exists="create", worker_id=WORKER, lease_seconds=LEASE
        )
        assert {(await pg.get_run(r)).status for r in (handed, made)} == {"running"}
        await heard[RUN_STARTED].wait_for(handed, made)
        await asyncio.sleep(0.2)  # anything doubled would have come by now
        for inboxes in (heard, here):
            assert inboxes[RUN_QUEUED].got.count(first) == 1
            assert inboxes[RUN_QUEUED].got.count(second) == 2  # queued, then next after first
            assert inboxes[RUN_DONE].got == [first]
            assert inboxes[RUN_STARTED].got == [handed, made]
            assert handed not in inboxes[RUN_QUEUED].got and made not in inboxes[RUN_QUEUED].got
    await assert_chained(pg)


def test_the_parts_and_the_place_hash_to_row_hash() -> None:
    entry = audit.entry("note", "thread", "t", detail=AWKWARD, payload=AWKWARD)
    for seq, prev in ((1, audit.GENESIS), (12345678901, hashlib.sha256(b"x").hexdigest())):
        row = entry.seal(seq, prev)
        order, (a, b, c) = audit.hash_parts(row)
        value = {"prev_hash": prev, "seq": str(seq)}
        first, second = (value[name].encode() for name in order)
        assert hashlib.sha256(a + first + b + second + c).hexdigest() == row.hash
        assert row.hash == audit.row_hash(replace(row, hash=""))
