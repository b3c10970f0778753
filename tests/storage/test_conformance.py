"""One conformance suite for every storage backend (as langgraph's checkpoint-conformance does).

Each test runs once per backend through the `storage` fixture (ids `sqlite` and `postgres`) and
exercises the `Storage` protocol only through its public methods, against a fresh database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import psycopg
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent_ops.errors import Conflict, InvalidInput, NotFound, StorageError
from agent_ops.storage import (
    RUN_CANCEL,
    RUN_DONE,
    RUN_EVENTS,
    RUN_QUEUED,
    THREAD_EVENTS,
    AssistantChanges,
    AssistantFilter,
    Cron,
    CronChanges,
    CronFilter,
    Namespaces,
    NewAssistant,
    NewCron,
    Page,
    Run,
    RunEvent,
    Storage,
    ThreadFilter,
    create_storage,
)
from agent_ops.types import RunStatus, ThreadStatus

LONG_LEASE = 30.0
SHORT_LEASE = 0.2  # lease-expiry tests sleep just past this


def new_id() -> str:
    return str(uuid.uuid4())


class Inbox:
    """A listener that records payloads so a test can await them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def __call__(self, payload: str) -> None:
        self.queue.put_nowait(payload)

    async def expect(self, payload: str, within: float = 5.0) -> None:
        """Wait until `payload` arrives (other payloads before it are dropped)."""
        async with asyncio.timeout(within):
            while await self.queue.get() != payload:
                pass

    async def settle(self) -> list[str]:
        """Return what arrived once pending callbacks have run."""
        await asyncio.sleep(0.05)
        found = []
        while not self.queue.empty():
            found.append(self.queue.get_nowait())
        return found


async def new_thread(storage: Storage, **metadata: Any) -> str:
    thread_id = new_id()
    await storage.create_thread(thread_id=thread_id, metadata=metadata)
    return thread_id


async def queue_run(storage: Storage, thread_id: str, **options: Any) -> Run:
    return await storage.create_run(
        run_id=new_id(), thread_id=thread_id, assistant_id="agent", kwargs={"input": {}}, **options
    )


async def claim(
    storage: Storage, worker: str = "w1", lease: float = LONG_LEASE, max_attempts: int = 3
) -> Run | None:
    claimed = await storage.claim_runs(
        worker_id=worker, lease_seconds=lease, max_attempts=max_attempts
    )
    assert len(claimed) <= 1
    return claimed[0] if claimed else None


async def claim_exactly(storage: Storage, run_id: str, worker: str = "w1", **kw: Any) -> Run:
    run = await claim(storage, worker, **kw)
    assert run is not None and run.run_id == run_id, f"expected to claim {run_id}, got {run}"
    return run


async def running_run(storage: Storage) -> tuple[str, Run]:
    """A new thread and a run on it that worker w1 has claimed: the thread is busy."""
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    await claim_exactly(storage, run.run_id)
    return thread_id, run


async def finished_run(storage: Storage, thread_id: str, status: RunStatus = "success") -> Run:
    run = await queue_run(storage, thread_id, multitask_strategy="enqueue")
    await claim_exactly(storage, run.run_id)
    finished = await storage.finish_run(run.run_id, worker_id="w1", status=status)
    assert finished is not None and finished == await storage.get_run(run.run_id)
    assert finished.status == status
    return run


async def make_assistant(storage: Storage, graph_id: str = "agent", **kw: Any) -> str:
    assistant_id = new_id()
    kw.setdefault("name", f"assistant {assistant_id[:8]}")
    await storage.create_assistant(NewAssistant(assistant_id=assistant_id, graph_id=graph_id, **kw))
    return assistant_id


# -- assistants ---------------------------------------------------------------------------------
async def test_create_assistant_stores_version_one(storage: Storage) -> None:
    created = await storage.create_assistant(
        NewAssistant(
            assistant_id="a1",
            graph_id="agent",
            name="Invoices",
            description="approves invoices",
            config={"configurable": {"k": 1}},
            context={"tone": "dry"},
            metadata={"team": "finance"},
        )
    )
    assert created.version == 1
    assert created.tenant_id == "default" and created.owner == "system"
    fetched = await storage.get_assistant("a1")
    assert fetched == created
    assert fetched.config == {"configurable": {"k": 1}} and fetched.context == {"tone": "dry"}
    assert [v.version for v in await storage.list_assistant_versions("a1")] == [1]


async def test_create_existing_assistant_conflicts_or_returns_stored_one(storage: Storage) -> None:
    first = await storage.create_assistant(
        NewAssistant(assistant_id="a1", graph_id="agent", name="one")
    )
    with pytest.raises(Conflict, match="a1"):
        await storage.create_assistant(
            NewAssistant(assistant_id="a1", graph_id="agent", name="two")
        )
    again = await storage.create_assistant(
        NewAssistant(assistant_id="a1", graph_id="other", name="two"), "do_nothing"
    )
    assert again == first


async def test_update_assistant_adds_version_keeping_unset_fields_and_merging_metadata(
    storage: Storage,
) -> None:
    await storage.create_assistant(
        NewAssistant(
            assistant_id="a1",
            graph_id="agent",
            name="one",
            config={"c": 1},
            metadata={"team": "finance", "tier": 1},
        )
    )
    updated = await storage.update_assistant(
        "a1", AssistantChanges(name="two", metadata={"tier": 2})
    )
    assert updated.version == 2
    assert updated.name == "two" and updated.graph_id == "agent" and updated.config == {"c": 1}
    assert updated.metadata == {"team": "finance", "tier": 2}
    assert await storage.get_assistant("a1") == updated


async def test_versions_list_newest_first_and_an_earlier_one_can_be_restored(
    storage: Storage,
) -> None:
    await storage.create_assistant(NewAssistant(assistant_id="a1", graph_id="agent", name="v1"))
    await storage.update_assistant("a1", AssistantChanges(name="v2", metadata={"stage": "beta"}))
    await storage.update_assistant("a1", AssistantChanges(name="v3"))
    versions = await storage.list_assistant_versions("a1")
    assert [(v.version, v.name) for v in versions] == [(3, "v3"), (2, "v2"), (1, "v1")]
    beta = await storage.list_assistant_versions("a1", metadata={"stage": "beta"})
    assert [v.version for v in beta] == [3, 2]  # v3 kept the merged metadata
    assert [v.version for v in await storage.list_assistant_versions("a1", limit=1, offset=1)] == [
        2
    ]

    restored = await storage.set_assistant_version("a1", 1)
    assert (restored.version, restored.name) == (1, "v1")
    assert (await storage.get_assistant("a1")).name == "v1"
    with pytest.raises(NotFound, match="a1"):
        await storage.set_assistant_version("a1", 9)


async def test_search_assistants_filters_by_graph_name_and_metadata(storage: Storage) -> None:
    await storage.create_assistant(
        NewAssistant(
            assistant_id="a1",
            graph_id="invoices",
            name="Invoice Approver",
            metadata={"team": "fin"},
        )
    )
    await storage.create_assistant(
        NewAssistant(
            assistant_id="a2", graph_id="invoices", name="Invoice Checker", metadata={"team": "ops"}
        )
    )
    await storage.create_assistant(
        NewAssistant(assistant_id="a3", graph_id="router", name="Router", metadata={"team": "fin"})
    )

    async def ids(**kw: Any) -> set[str]:
        return {a.assistant_id for a in await storage.search_assistants(AssistantFilter(**kw))}

    assert await ids(graph_id="invoices") == {"a1", "a2"}
    assert await ids(name="invoice") == {"a1", "a2"}  # substring, case-insensitive
    assert await ids(name="APPROV") == {"a1"}
    assert await ids(metadata={"team": "fin"}) == {"a1", "a3"}
    assert await ids(graph_id="invoices", metadata={"team": "fin"}) == {"a1"}
    assert await ids(name="%") == set()  # wildcards are literal text
    assert await storage.count_assistants() == 3
    assert await storage.count_assistants(AssistantFilter(graph_id="invoices")) == 2
    assert (
        await storage.count_assistants(AssistantFilter(metadata={"team": "fin"}, name="rout")) == 1
    )


async def test_search_assistants_sorts_and_pages(storage: Storage) -> None:
    for name in ("beta", "alpha", "gamma"):
        await storage.create_assistant(NewAssistant(assistant_id=name, graph_id="agent", name=name))
    newest_first = await storage.search_assistants()
    assert [a.name for a in newest_first] == ["gamma", "alpha", "beta"]
    by_name = await storage.search_assistants(page=Page(sort_by="name", sort_order="asc"))
    assert [a.name for a in by_name] == ["alpha", "beta", "gamma"]
    page = await storage.search_assistants(
        page=Page(sort_by="name", sort_order="asc", limit=1, offset=1)
    )
    assert [a.name for a in page] == ["beta"]


async def test_unknown_sort_column_is_invalid_input_naming_it(storage: Storage) -> None:
    with pytest.raises(InvalidInput, match="password"):
        await storage.search_assistants(page=Page(sort_by="password"))
    with pytest.raises(InvalidInput, match="password"):
        await storage.search_threads(page=Page(sort_by="password"))
    with pytest.raises(InvalidInput, match="password"):
        await storage.search_crons(page=Page(sort_by="password"))


async def test_missing_assistant_raises_not_found_naming_it(storage: Storage) -> None:
    with pytest.raises(NotFound, match="nope"):
        await storage.get_assistant("nope")
    with pytest.raises(NotFound, match="nope"):
        await storage.update_assistant("nope", AssistantChanges(name="x"))
    with pytest.raises(NotFound, match="nope"):
        await storage.delete_assistant("nope")
    with pytest.raises(NotFound, match="nope"):
        await storage.list_assistant_versions("nope")


async def test_deleted_assistant_is_gone_with_its_versions(storage: Storage) -> None:
    await storage.create_assistant(NewAssistant(assistant_id="a1", graph_id="agent", name="one"))
    await storage.update_assistant("a1", AssistantChanges(name="two"))
    await storage.delete_assistant("a1")
    with pytest.raises(NotFound):
        await storage.get_assistant("a1")
    recreated = await storage.create_assistant(
        NewAssistant(assistant_id="a1", graph_id="agent", name="new")
    )
    assert recreated.version == 1
    assert [v.name for v in await storage.list_assistant_versions("a1")] == ["new"]


# -- threads ------------------------------------------------------------------------------------
async def test_new_thread_is_idle_and_an_existing_id_conflicts_or_is_returned(
    storage: Storage,
) -> None:
    thread = await storage.create_thread(thread_id="t1", metadata={"customer": "acme"})
    assert thread.status == "idle" and thread.values is None and thread.interrupts == {}
    assert thread.metadata == {"customer": "acme"} and thread.tenant_id == "default"
    assert await storage.get_thread("t1") == thread
    with pytest.raises(Conflict, match="t1"):
        await storage.create_thread(thread_id="t1")
    assert await storage.create_thread(thread_id="t1", if_exists="do_nothing") == thread


async def test_update_thread_merges_metadata(storage: Storage) -> None:
    await storage.create_thread(thread_id="t1", metadata={"a": 1, "b": 2})
    updated = await storage.update_thread("t1", metadata={"b": 3, "c": 4})
    assert updated.metadata == {"a": 1, "b": 3, "c": 4}
    assert (await storage.get_thread("t1")).metadata == {"a": 1, "b": 3, "c": 4}


async def test_missing_thread_raises_not_found_naming_it(storage: Storage) -> None:
    with pytest.raises(NotFound, match="nope"):
        await storage.get_thread("nope")
    with pytest.raises(NotFound, match="nope"):
        await storage.update_thread("nope", metadata={})
    with pytest.raises(NotFound, match="nope"):
        await storage.delete_thread("nope")
    with pytest.raises(NotFound, match="nope"):
        await storage.set_thread_state("nope", values={}, interrupts={})
    with pytest.raises(NotFound, match="nope"):
        await storage.list_runs("nope")


async def test_deleted_thread_takes_its_runs_and_events(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await finished_run(storage, thread_id)
    await storage.append_events(run.run_id, [RunEvent(1, "values", b"{}")])
    await storage.delete_thread(thread_id)
    with pytest.raises(NotFound):
        await storage.get_thread(thread_id)
    with pytest.raises(NotFound):
        await storage.get_run(run.run_id)
    assert await storage.read_events(run.run_id) == []


async def test_search_threads_by_ids_metadata_values_and_status(storage: Storage) -> None:
    t1 = await new_thread(storage, customer="acme", kind="invoice")
    t2 = await new_thread(storage, customer="acme", kind="order")
    t3 = await new_thread(storage, customer="globex")
    await storage.set_thread_state(t1, values={"total": 10, "currency": "EUR"}, interrupts={})
    await storage.set_thread_state(t2, values={"total": 12, "currency": "EUR"}, interrupts={})
    await queue_run(storage, t3)

    async def ids(**kw: Any) -> set[str]:
        return {t.thread_id for t in await storage.search_threads(ThreadFilter(**kw))}

    assert await ids(metadata={"customer": "acme"}) == {t1, t2}
    assert await ids(metadata={"customer": "acme", "kind": "order"}) == {t2}
    assert await ids(values={"currency": "EUR"}) == {t1, t2}
    assert await ids(values={"currency": "EUR", "total": 10}) == {t1}
    assert await ids(status="busy") == {t3}
    assert await ids(status="idle") == {t1, t2}
    assert await ids(ids=[t1, t3, "unknown"]) == {t1, t3}
    assert await ids(ids=[]) == set()
    assert await storage.count_threads() == 3
    assert await storage.count_threads(ThreadFilter(metadata={"customer": "acme"})) == 2
    assert await storage.count_threads(ThreadFilter(values={"total": 12})) == 1
    assert await storage.count_threads(ThreadFilter(status="busy")) == 1


async def test_search_threads_sorts_and_pages(storage: Storage) -> None:
    made = [await new_thread(storage) for _ in range(3)]
    assert [t.thread_id for t in await storage.search_threads()] == made[::-1]
    oldest_first = await storage.search_threads(page=Page(sort_by="created_at", sort_order="asc"))
    assert [t.thread_id for t in oldest_first] == made
    page = await storage.search_threads(
        page=Page(sort_by="created_at", sort_order="asc", limit=2, offset=1)
    )
    assert [t.thread_id for t in page] == made[1:]


async def test_set_thread_state_records_values_and_recomputes_status(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    interrupts = {"task-1": [{"id": "i1", "value": {"question": "approve?"}}]}
    waiting = await storage.set_thread_state(thread_id, values={"n": 1}, interrupts=interrupts)
    assert waiting.status == "interrupted"
    assert waiting.values == {"n": 1} and waiting.interrupts == interrupts
    assert waiting.state_updated_at >= waiting.created_at

    idle = await storage.set_thread_state(thread_id, values={"n": 2}, interrupts={})
    assert idle.status == "idle" and idle.values == {"n": 2}

    await queue_run(storage, thread_id)
    busy = await storage.set_thread_state(thread_id, values={"n": 3}, interrupts=interrupts)
    assert busy.status == "busy"

    forced = await storage.set_thread_state(
        thread_id, values={"n": 4}, interrupts={}, status="error"
    )
    assert forced.status == "error"


# -- creating runs ------------------------------------------------------------------------------
async def test_create_run_queues_it_makes_thread_busy_and_notifies(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    inbox = Inbox()
    storage.listen(RUN_QUEUED, inbox)
    run = await storage.create_run(
        run_id="r1",
        thread_id=thread_id,
        assistant_id="agent",
        kwargs={"input": {"x": 1}, "stream_mode": ["values"]},
        metadata={"source": "test"},
        stateless=True,
    )
    assert run.status == "pending" and run.attempt == 0 and run.worker_id is None
    assert run.kwargs == {"input": {"x": 1}, "stream_mode": ["values"]}
    assert run.metadata == {"source": "test"} and run.stateless
    assert run.multitask_strategy == "reject" and run.cancel_action is None
    assert run.tenant_id == "default" and run.owner == "system"
    assert await storage.get_run("r1") == run
    assert await storage.get_run("r1", thread_id=thread_id) == run
    assert (await storage.get_thread(thread_id)).status == "busy"
    await inbox.expect("r1")


async def test_create_run_on_missing_thread_is_not_found_unless_asked_to_create(
    storage: Storage,
) -> None:
    with pytest.raises(NotFound, match="t-missing"):
        await storage.create_run(
            run_id=new_id(), thread_id="t-missing", assistant_id="agent", kwargs={}
        )
    run = await storage.create_run(
        run_id=new_id(),
        thread_id="t-missing",
        assistant_id="agent",
        kwargs={},
        if_not_exists="create",
        thread_metadata={"origin": "cron"},
    )
    thread = await storage.get_thread("t-missing")
    assert thread.status == "busy" and thread.metadata == {"origin": "cron"}
    assert run.thread_id == "t-missing"


async def test_reject_strategy_raises_conflict_naming_busy_run(storage: Storage) -> None:
    thread_id, busy = await running_run(storage)
    with pytest.raises(Conflict) as caught:
        await queue_run(storage, thread_id, multitask_strategy="reject")
    message = str(caught.value)
    assert thread_id in message and busy.run_id in message and "enqueue" in message
    assert [r.run_id for r in await storage.list_runs(thread_id)] == [busy.run_id]


async def test_racing_reject_requests_on_an_idle_thread_queue_exactly_one(
    storage: Storage, database_url: str
) -> None:
    """Queuing locks the thread before it looks for runs in flight (on PostgreSQL inside one
    routine call, whose statement after the lock sees what the lock waited for), so of many
    `reject` requests racing for one idle thread from two processes' pools one is queued and
    every other is refused naming it."""
    thread_id = new_id()
    await storage.create_thread(thread_id=thread_id)
    other = create_storage(database_url)
    await other.open()
    try:
        results = await asyncio.gather(
            *(
                queue_run(each, thread_id, multitask_strategy="reject")
                for _ in range(12)
                for each in (storage, other)
            ),
            return_exceptions=True,
        )
    finally:
        await other.close()
    queued = [r for r in results if isinstance(r, Run)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(queued) == 1 and len(refused) == 23, results
    assert all(queued[0].run_id in str(error) for error in refused)
    assert [r.run_id for r in await storage.list_runs(thread_id)] == [queued[0].run_id]
    assert (await storage.get_thread(thread_id)).status == "busy"


async def test_enqueue_strategy_runs_a_thread_one_at_a_time_in_creation_order(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    runs = [await queue_run(storage, thread_id, multitask_strategy="enqueue") for _ in range(3)]
    other_thread = await new_thread(storage)
    other = await queue_run(storage, other_thread)

    first = await claim_exactly(storage, runs[0].run_id)
    # The thread is taken, so the next claim goes to the other thread, then nothing is left.
    await claim_exactly(storage, other.run_id, worker="w2")
    assert await claim(storage, "w3") is None
    for expected in runs[1:]:
        assert await storage.finish_run(first.run_id, worker_id="w1", status="success")
        assert (await storage.get_thread(thread_id)).status == "busy"
        first = await claim_exactly(storage, expected.run_id)
    assert await storage.finish_run(first.run_id, worker_id="w1", status="success")
    assert (await storage.get_thread(thread_id)).status == "idle"


async def test_pending_run_blocks_later_runs_of_its_thread(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    first = await queue_run(storage, thread_id, after_seconds=30)
    await queue_run(storage, thread_id, multitask_strategy="enqueue")
    assert await claim(storage) is None  # the first is delayed and nothing may overtake it
    assert (await storage.get_run(first.run_id)).status == "pending"


async def test_interrupt_strategy_cancels_pending_and_flags_running_run(storage: Storage) -> None:
    thread_id, running = await running_run(storage)
    pending = await queue_run(storage, thread_id, multitask_strategy="enqueue")
    cancels = Inbox()
    storage.listen(RUN_CANCEL, cancels)

    newest = await queue_run(storage, thread_id, multitask_strategy="interrupt")

    assert (await storage.get_run(pending.run_id)).status == "interrupted"
    flagged = await storage.get_run(running.run_id)
    assert flagged.status == "running" and flagged.cancel_action == "interrupt"
    lease = await storage.renew_lease(running.run_id, worker_id="w1", lease_seconds=LONG_LEASE)
    assert lease.held and lease.cancel_action == "interrupt"
    await cancels.expect(running.run_id)
    # The new run waits for the interrupted one to stop.
    assert await claim(storage, "w2") is None
    assert await storage.finish_run(running.run_id, worker_id="w1", status="interrupted")
    await claim_exactly(storage, newest.run_id, worker="w2")


async def test_rollback_strategy_flags_running_run_for_rollback(storage: Storage) -> None:
    thread_id, running = await running_run(storage)
    await queue_run(storage, thread_id, multitask_strategy="rollback")
    lease = await storage.renew_lease(running.run_id, worker_id="w1", lease_seconds=LONG_LEASE)
    assert lease.held and lease.cancel_action == "rollback"


async def test_a_batch_claim_takes_one_run_per_thread_in_creation_order(storage: Storage) -> None:
    first_thread, second_thread = await new_thread(storage), await new_thread(storage)
    a1 = await queue_run(storage, first_thread)
    a2 = await queue_run(storage, first_thread, multitask_strategy="enqueue")
    b1 = await queue_run(storage, second_thread)
    claimed = await storage.claim_runs(
        worker_id="w1", lease_seconds=LONG_LEASE, max_attempts=3, limit=10
    )
    assert [r.run_id for r in claimed] == [a1.run_id, b1.run_id]
    assert all(r.status == "running" and r.worker_id == "w1" for r in claimed)
    assert (
        await storage.claim_runs(worker_id="w2", lease_seconds=LONG_LEASE, max_attempts=3, limit=10)
        == []
    )
    await storage.finish_run(a1.run_id, worker_id="w1", status="success")
    assert [
        r.run_id
        for r in await storage.claim_runs(
            worker_id="w2", lease_seconds=LONG_LEASE, max_attempts=3, limit=1
        )
    ] == [a2.run_id]


async def test_after_seconds_delays_the_claim(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id, after_seconds=0.3)
    assert run.not_before > run.created_at
    assert await claim(storage) is None
    await asyncio.sleep(0.35)
    await claim_exactly(storage, run.run_id)


async def test_get_run_of_another_thread_is_not_found(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    other = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    with pytest.raises(NotFound, match=run.run_id):
        await storage.get_run(run.run_id, thread_id=other)
    with pytest.raises(NotFound, match="missing-run"):
        await storage.get_run("missing-run")


async def test_list_runs_newest_first_with_status_filter_and_paging(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    done = await finished_run(storage, thread_id)
    queued = [await queue_run(storage, thread_id, multitask_strategy="enqueue") for _ in range(2)]
    listed = await storage.list_runs(thread_id)
    assert [r.run_id for r in listed] == [queued[1].run_id, queued[0].run_id, done.run_id]
    assert [r.run_id for r in await storage.list_runs(thread_id, status="success")] == [done.run_id]
    page = await storage.list_runs(thread_id, limit=1, offset=1)
    assert [r.run_id for r in page] == [queued[0].run_id]


async def test_delete_run_refuses_in_flight_runs_and_deletes_finished_ones(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    done = await finished_run(storage, thread_id)
    await storage.append_events(done.run_id, [RunEvent(1, "values", b"{}")])
    pending = await queue_run(storage, thread_id)
    with pytest.raises(Conflict, match=pending.run_id):
        await storage.delete_run(pending.run_id)
    with pytest.raises(NotFound):
        await storage.delete_run(done.run_id, thread_id=await new_thread(storage))
    await storage.delete_run(done.run_id, thread_id=thread_id)
    with pytest.raises(NotFound):
        await storage.get_run(done.run_id)
    assert await storage.read_events(done.run_id) == []


# -- claiming, leases, finishing ----------------------------------------------------------------
async def test_claim_sets_running_worker_lease_and_attempt(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    before = datetime.now(UTC)
    claimed = await claim_exactly(storage, run.run_id, worker="w7")
    assert claimed.status == "running" and claimed.worker_id == "w7" and claimed.attempt == 1
    assert claimed.lease_expires_at is not None
    assert claimed.lease_expires_at > before + timedelta(seconds=LONG_LEASE - 5)
    assert await claim(storage) is None


async def test_two_concurrent_claimers_take_each_run_exactly_once(
    storage: Storage, open_storage: Callable[[], Storage]
) -> None:
    other = open_storage()
    await other.open()
    runs = [await queue_run(storage, await new_thread(storage)) for _ in range(20)]
    # Three more on one thread: only the first of them may be taken while it runs.
    shared = await new_thread(storage)
    same_thread = [await queue_run(storage, shared, multitask_strategy="enqueue") for _ in range(3)]

    claims = [claim(storage if i % 2 else other, worker="w1" if i % 2 else "w2") for i in range(50)]
    claimed = [run for run in await asyncio.gather(*claims) if run is not None]

    ids = [run.run_id for run in claimed]
    assert len(ids) == len(set(ids)), "a run was claimed twice"
    assert set(ids) == {r.run_id for r in runs} | {same_thread[0].run_id}


async def test_expired_lease_is_reclaimed_as_attempt_two(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    await claim_exactly(storage, run.run_id, worker="w1", lease=SHORT_LEASE)
    assert await claim(storage, "w2") is None  # the lease is still live
    await asyncio.sleep(SHORT_LEASE + 0.1)
    again = await claim_exactly(storage, run.run_id, worker="w2")
    assert again.attempt == 2 and again.worker_id == "w2"


async def test_run_that_used_all_attempts_ends_in_error_and_claim_moves_on(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    await claim_exactly(storage, run.run_id, worker="w1", lease=SHORT_LEASE, max_attempts=2)
    await asyncio.sleep(SHORT_LEASE + 0.1)
    await claim_exactly(storage, run.run_id, worker="w2", lease=SHORT_LEASE, max_attempts=2)
    await asyncio.sleep(SHORT_LEASE + 0.1)
    later = await queue_run(storage, await new_thread(storage))
    done = Inbox()
    storage.listen(RUN_DONE, done)

    assert (await claim_exactly(storage, later.run_id, worker="w3", max_attempts=2)).attempt == 1

    abandoned = await storage.get_run(run.run_id)
    assert abandoned.status == "error" and abandoned.attempt == 2
    assert abandoned.error is not None
    assert "abandoned" in abandoned.error and "w2" in abandoned.error
    assert "2 attempts" in abandoned.error
    thread = await storage.get_thread(thread_id)
    assert thread.status == "error"
    await done.expect(run.run_id)


async def test_renew_lease_extends_for_holder_and_is_refused_to_others(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    await claim_exactly(storage, run.run_id, worker="w1", lease=SHORT_LEASE)
    held = await storage.renew_lease(run.run_id, worker_id="w1", lease_seconds=LONG_LEASE)
    assert held.held and held.cancel_action is None
    await asyncio.sleep(SHORT_LEASE + 0.1)
    assert await claim(storage, "w2") is None  # renewed, so still live
    refused = await storage.renew_lease(run.run_id, worker_id="w2", lease_seconds=LONG_LEASE)
    assert not refused.held


async def test_finish_run_after_losing_the_lease_returns_none_and_changes_nothing(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    await claim_exactly(storage, run.run_id, worker="w1", lease=SHORT_LEASE)
    await asyncio.sleep(SHORT_LEASE + 0.1)
    await claim_exactly(storage, run.run_id, worker="w2")
    before = await storage.get_run(run.run_id)

    finished = await storage.finish_run(
        run.run_id, worker_id="w1", status="success", thread_values={"stale": True}
    )

    assert finished is None
    assert await storage.get_run(run.run_id) == before
    thread = await storage.get_thread(thread_id)
    assert thread.status == "busy" and thread.values is None
    assert not (await storage.renew_lease(run.run_id, worker_id="w1", lease_seconds=1)).held


@pytest.mark.parametrize(
    ("status", "interrupts", "thread_status"),
    [
        ("success", None, "idle"),
        ("error", None, "error"),
        ("timeout", None, "error"),
        ("interrupted", {"task": [{"id": "i1", "value": "approve?"}]}, "interrupted"),
    ],
)
async def test_thread_status_follows_the_finished_run(
    storage: Storage,
    status: RunStatus,
    interrupts: dict[str, Any] | None,
    thread_status: ThreadStatus,
) -> None:
    thread_id, run = await running_run(storage)
    done, queued = Inbox(), Inbox()
    storage.listen(RUN_DONE, done)
    storage.listen(RUN_QUEUED, queued)
    assert await storage.finish_run(
        run.run_id,
        worker_id="w1",
        status=status,
        error="boom" if status == "error" else None,
        thread_values={"answer": 42},
        thread_interrupts=interrupts,
        output={"answer": 42},
    )
    ended = await storage.get_run(run.run_id)
    assert ended.status == status and ended.output == {"answer": 42}
    thread = await storage.get_thread(thread_id)
    assert thread.status == thread_status and thread.values == {"answer": 42}
    if status == "error":
        assert thread.error == "boom"
    await done.expect(run.run_id)


async def test_thread_stays_busy_when_another_run_is_queued(storage: Storage) -> None:
    thread_id, first = await running_run(storage)
    second = await queue_run(storage, thread_id, multitask_strategy="enqueue")
    queued = Inbox()
    storage.listen(RUN_QUEUED, queued)
    assert await storage.finish_run(first.run_id, worker_id="w1", status="error", error="x")
    assert (await storage.get_thread(thread_id)).status == "busy"
    assert await queued.settle(), "finishing a run wakes claimers for the thread's next run"
    await claim_exactly(storage, second.run_id)


async def test_finish_run_keeps_stored_state_when_none_is_given(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    await storage.set_thread_state(thread_id, values={"kept": 1}, interrupts={})
    await finished_run(storage, thread_id)
    assert (await storage.get_thread(thread_id)).values == {"kept": 1}


async def test_release_run_requeues_it_without_counting_the_attempt(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    await claim_exactly(storage, run.run_id, worker="w1")
    assert not await storage.release_run(run.run_id, worker_id="w2")
    assert await storage.release_run(run.run_id, worker_id="w1")
    released = await storage.get_run(run.run_id)
    assert released.status == "pending" and released.attempt == 0 and released.worker_id is None
    again = await claim_exactly(storage, run.run_id, worker="w2")
    assert again.attempt == 1


async def test_cancel_runs_ends_pending_flags_running_and_leaves_finished(
    storage: Storage,
) -> None:
    busy_thread = await new_thread(storage)
    running = await queue_run(storage, busy_thread)
    await claim_exactly(storage, running.run_id)
    idle_thread = await new_thread(storage)
    finished = await finished_run(storage, idle_thread)
    pending = await queue_run(storage, idle_thread)
    cancels, done = Inbox(), Inbox()
    storage.listen(RUN_CANCEL, cancels)
    storage.listen(RUN_DONE, done)

    after = await storage.cancel_runs(
        [running.run_id, pending.run_id, finished.run_id], action="interrupt"
    )

    by_id = {r.run_id: r for r in after}
    assert by_id[running.run_id].status == "running"
    assert by_id[running.run_id].cancel_action == "interrupt"
    assert by_id[pending.run_id].status == "interrupted"
    assert by_id[finished.run_id].status == "success"
    assert (await storage.get_run(pending.run_id)).status == "interrupted"
    assert (await storage.get_thread(idle_thread)).status == "idle"
    assert (await storage.get_thread(busy_thread)).status == "busy"
    await cancels.expect(running.run_id)
    await done.expect(pending.run_id)
    with pytest.raises(NotFound):
        await storage.cancel_runs([running.run_id], thread_id=idle_thread, action="interrupt")


# -- stream events ------------------------------------------------------------------------------
async def test_events_read_back_in_order_and_reappending_is_ignored(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await queue_run(storage, thread_id)
    inbox = Inbox()
    storage.listen(RUN_EVENTS, inbox)
    events = [RunEvent(i, "values", f'{{"n": {i}}}'.encode()) for i in range(1, 4)]
    await storage.append_events(run.run_id, events[:2])
    await inbox.expect(run.run_id)
    await storage.append_events(run.run_id, [RunEvent(2, "values", b"changed"), events[2]])
    assert await storage.read_events(run.run_id) == events
    assert await storage.read_events(run.run_id, after_seq=2) == events[2:]
    assert await storage.read_events(run.run_id, after_seq=3) == []
    assert isinstance((await storage.read_events(run.run_id))[0].data, bytes)


async def test_delete_events_drops_only_runs_finished_before_the_cutoff(storage: Storage) -> None:
    old = await finished_run(storage, await new_thread(storage))
    await asyncio.sleep(0.05)
    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.05)
    recent = await finished_run(storage, await new_thread(storage))
    live = await queue_run(storage, await new_thread(storage))
    for run in (old, recent, live):
        await storage.append_events(run.run_id, [RunEvent(1, "a", b"1"), RunEvent(2, "b", b"2")])

    assert await storage.delete_events(finished_before=cutoff) == 2

    assert await storage.read_events(old.run_id) == []
    assert len(await storage.read_events(recent.run_id)) == 2
    assert len(await storage.read_events(live.run_id)) == 2
    assert (await storage.get_run(old.run_id)).status == "success"  # only its stream went


async def test_thread_events_read_back_in_order_since_a_time_and_go_with_retention(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    inbox = Inbox()
    storage.listen(THREAD_EVENTS, inbox)
    first = await storage.append_thread_event(thread_id, "state_update", b'{"n": 1}')
    await inbox.expect(thread_id)
    await asyncio.sleep(0.05)
    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.05)
    second = await storage.append_thread_event(thread_id, "state_update", b'{"n": 2}')
    assert first.created_at < cutoff < second.created_at
    assert await storage.read_thread_events(thread_id) == [first, second]
    assert await storage.read_thread_events(thread_id, since=cutoff) == [second]
    assert await storage.read_thread_events(await new_thread(storage)) == []
    with pytest.raises(NotFound):
        await storage.append_thread_event(str(uuid.uuid4()), "state_update", b"{}")

    assert await storage.delete_events(finished_before=cutoff) == 1
    assert await storage.read_thread_events(thread_id) == [second]
    await storage.delete_thread(thread_id)
    assert await storage.read_thread_events(thread_id) == []


# -- store --------------------------------------------------------------------------------------
async def test_put_get_overwrite_and_delete_an_item(storage: Storage) -> None:
    assert await storage.get_item(["users", "u1"], "prefs") is None
    await storage.put_item(["users", "u1"], "prefs", {"lang": "de"})
    item = await storage.get_item(["users", "u1"], "prefs")
    assert item is not None
    assert item.namespace == ("users", "u1") and item.key == "prefs"
    assert item.value == {"lang": "de"} and item.expires_at is None
    await storage.put_item(["users", "u1"], "prefs", {"lang": "fr"})
    again = await storage.get_item(["users", "u1"], "prefs")
    assert again is not None and again.value == {"lang": "fr"}
    assert again.created_at == item.created_at and again.updated_at >= item.updated_at
    await storage.delete_item(["users", "u1"], "prefs")
    assert await storage.get_item(["users", "u1"], "prefs") is None
    await storage.delete_item(["users", "u1"], "prefs")  # deleting a missing item is fine


async def test_search_items_by_namespace_prefix_and_value_filter(storage: Storage) -> None:
    await storage.put_item(["docs", "a"], "1", {"kind": "invoice", "total": 10})
    await storage.put_item(["docs", "a", "x"], "2", {"kind": "invoice", "total": 20})
    await storage.put_item(["docs", "b"], "3", {"kind": "order", "total": 10})
    await storage.put_item(["docsx"], "4", {"kind": "invoice"})

    async def keys(prefix: list[str], **kw: Any) -> set[str]:
        return {i.key for i in await storage.search_items(prefix, **kw)}

    assert await keys(["docs"]) == {"1", "2", "3"}
    assert await keys(["docs", "a"]) == {"1", "2"}
    assert await keys(["docs"], filter={"kind": "invoice"}) == {"1", "2"}
    assert await keys(["docs"], filter={"kind": "invoice", "total": 20}) == {"2"}
    assert await keys([]) == {"1", "2", "3", "4"}
    assert len(await storage.search_items(["docs"], limit=2)) == 2
    assert len(await storage.search_items(["docs"], limit=2, offset=2)) == 1


async def test_search_items_with_comparison_operators_as_langgraph_stores_have_them(
    storage: Storage,
) -> None:
    await storage.put_item(["ops"], "1", {"total": 10, "kind": "invoice"})
    await storage.put_item(["ops"], "2", {"total": 20, "kind": "order"})
    await storage.put_item(["ops"], "3", {"total": 30.5, "kind": "invoice"})
    await storage.put_item(["ops"], "4", {"kind": "invoice"})  # no total: passes no comparison
    await storage.put_item(["ops"], "5", {"total": True})  # a bool is not a number

    async def keys(filter: dict[str, Any]) -> set[str]:
        return {i.key for i in await storage.search_items(["ops"], filter=filter)}

    assert await keys({"total": {"$gt": 10}}) == {"2", "3"}
    assert await keys({"total": {"$gte": 10, "$lt": 30}}) == {"1", "2"}
    assert await keys({"total": {"$lte": 20}, "kind": "invoice"}) == {"1"}
    assert await keys({"kind": {"$eq": "invoice"}}) == {"1", "3", "4"}
    assert await keys({"kind": {"$ne": "invoice"}}) == {"2", "5"}
    assert len(await storage.search_items(["ops"], filter={"total": {"$gt": 0}}, limit=1)) == 1
    with pytest.raises(InvalidInput, match=r"\$like"):
        await storage.search_items(["ops"], filter={"kind": {"$like": "inv%"}})


async def test_list_namespaces_with_prefix_suffix_and_max_depth(storage: Storage) -> None:
    for namespace in (
        ["a", "b", "c"],
        ["a", "b", "d"],
        ["a", "e"],
        ["f", "b", "c"],
    ):
        await storage.put_item(namespace, "k", {})

    assert await storage.list_namespaces() == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "e"),
        ("f", "b", "c"),
    ]
    assert await storage.list_namespaces(Namespaces(prefix=["a", "b"])) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
    ]
    assert await storage.list_namespaces(Namespaces(suffix=["b", "c"])) == [
        ("a", "b", "c"),
        ("f", "b", "c"),
    ]
    assert await storage.list_namespaces(Namespaces(max_depth=2)) == [
        ("a", "b"),
        ("a", "e"),
        ("f", "b"),
    ]
    assert await storage.list_namespaces(Namespaces(prefix=["a"], max_depth=1)) == [("a",)]
    assert await storage.list_namespaces(Namespaces(limit=1, offset=1)) == [("a", "b", "d")]


async def test_items_expire_after_their_ttl_unless_read_with_refresh(storage: Storage) -> None:
    await storage.put_item(["cache"], "short", {"v": 1}, ttl_seconds=0.3)
    await storage.put_item(["cache"], "refreshed", {"v": 2}, ttl_seconds=0.6)
    item = await storage.get_item(["cache"], "short", refresh_ttl=False)
    assert item is not None and item.expires_at is not None
    await asyncio.sleep(0.4)
    assert await storage.get_item(["cache"], "refreshed") is not None  # pushes expiry to ~1.0 s
    await asyncio.sleep(0.4)
    assert await storage.get_item(["cache"], "short") is None
    assert {i.key for i in await storage.search_items(["cache"])} == {"refreshed"}
    assert await storage.list_namespaces() == [("cache",)]


# -- crons --------------------------------------------------------------------------------------
async def make_cron(storage: Storage, **kw: Any) -> Cron:
    options: dict[str, Any] = {
        "cron_id": new_id(),
        "assistant_id": "agent",
        "thread_id": None,
        "schedule": "*/5 * * * *",
        "payload": {"input": {}},
        "metadata": {},
        "next_run_date": datetime.now(UTC) - timedelta(minutes=1),
        "end_time": None,
    }
    options.update(kw)
    return await storage.create_cron(NewCron(**options))


async def test_cron_create_get_search_count_update_delete(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    first = await make_cron(storage, thread_id=thread_id, metadata={"team": "fin"})
    second = await make_cron(storage, assistant_id="other", enabled=False)
    assert await storage.get_cron(first.cron_id) == first
    assert first.enabled and not second.enabled and first.metadata == {"team": "fin"}

    assert {c.cron_id for c in await storage.search_crons()} == {first.cron_id, second.cron_id}
    assert [c.cron_id for c in await storage.search_crons(CronFilter(assistant_id="other"))] == [
        second.cron_id
    ]
    assert [c.cron_id for c in await storage.search_crons(CronFilter(thread_id=thread_id))] == [
        first.cron_id
    ]
    assert [c.cron_id for c in await storage.search_crons(CronFilter(enabled=False))] == [
        second.cron_id
    ]
    assert await storage.count_crons() == 2
    assert await storage.count_crons(CronFilter(assistant_id="agent")) == 1

    later = datetime.now(UTC) + timedelta(hours=1)
    updated = await storage.update_cron(
        first.cron_id,
        CronChanges(schedule="0 * * * *", next_run_date=later, metadata={"tier": 2}),
    )
    assert updated.schedule == "0 * * * *" and updated.payload == {"input": {}}
    assert updated.next_run_date is not None
    assert abs(updated.next_run_date - later) < timedelta(milliseconds=1)
    assert updated.metadata == {"team": "fin", "tier": 2}

    await storage.delete_cron(first.cron_id)
    with pytest.raises(NotFound, match=first.cron_id):
        await storage.get_cron(first.cron_id)
    with pytest.raises(NotFound, match=first.cron_id):
        await storage.delete_cron(first.cron_id)
    with pytest.raises(NotFound, match=first.cron_id):
        await storage.update_cron(first.cron_id, CronChanges(enabled=False))


async def test_cron_on_a_missing_thread_is_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound, match="t-missing"):
        await make_cron(storage, thread_id="t-missing")


async def test_deleting_a_thread_deletes_its_crons(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    cron = await make_cron(storage, thread_id=thread_id)
    await storage.delete_thread(thread_id)
    with pytest.raises(NotFound):
        await storage.get_cron(cron.cron_id)


async def test_due_crons_fire_exactly_once_when_two_callers_race(
    storage: Storage, open_storage: Callable[[], Storage]
) -> None:
    other = open_storage()
    await other.open()
    now = datetime.now(UTC)
    due = [await make_cron(storage) for _ in range(6)]
    await make_cron(storage, next_run_date=now + timedelta(hours=1))  # not due
    await make_cron(storage, enabled=False)  # disabled

    def next_run(cron: Cron) -> datetime:
        return now + timedelta(minutes=5)

    results = await asyncio.gather(
        *(
            (storage if i % 2 else other).claim_due_crons(now=now, next_run=next_run)
            for i in range(6)
        )
    )
    fired = [cron.cron_id for batch in results for cron in batch]
    assert sorted(fired) == sorted(c.cron_id for c in due)
    returned = {cron.cron_id: cron for batch in results for cron in batch}
    assert returned[due[0].cron_id].next_run_date == due[0].next_run_date  # as they were
    advanced = await storage.get_cron(due[0].cron_id)
    assert advanced.next_run_date is not None
    assert abs(advanced.next_run_date - (now + timedelta(minutes=5))) < timedelta(milliseconds=1)
    assert await storage.claim_due_crons(now=now, next_run=next_run) == []


async def test_cron_without_a_next_run_is_disabled_after_firing(storage: Storage) -> None:
    cron = await make_cron(storage)
    fired = await storage.claim_due_crons(now=datetime.now(UTC), next_run=lambda _: None)
    assert [c.cron_id for c in fired] == [cron.cron_id]
    assert not (await storage.get_cron(cron.cron_id)).enabled


# -- workers and metrics ------------------------------------------------------------------------
async def test_queue_stats_count_runs_and_live_workers(storage: Storage) -> None:
    await storage.heartbeat_worker("w-old", hostname="h1", pid=1)
    await asyncio.sleep(0.3)
    await storage.heartbeat_worker("w1", hostname="h1", pid=2)
    await storage.heartbeat_worker("w2", hostname="h2", pid=3)
    await storage.heartbeat_worker("w2", hostname="h2", pid=3)  # refresh, not a second row
    await storage.remove_worker("w2")
    await finished_run(storage, await new_thread(storage))
    await queue_run(storage, await new_thread(storage))
    await queue_run(storage, await new_thread(storage))
    await asyncio.sleep(0.05)

    stats = await storage.queue_stats(live_within_seconds=0.2)

    assert stats.runs_by_status == {"success": 1, "pending": 2}
    assert stats.pending == 2
    assert 0.0 < stats.oldest_pending_age_seconds < 5.0
    assert stats.live_workers == 1
    assert (await storage.queue_stats(live_within_seconds=60)).live_workers == 2


async def test_queue_stats_of_an_empty_queue(storage: Storage) -> None:
    stats = await storage.queue_stats(live_within_seconds=10)
    assert stats.pending == 0 and stats.oldest_pending_age_seconds == 0.0
    assert stats.live_workers == 0


# -- migrations, checkpointer, wake-ups ---------------------------------------------------------
async def test_opening_an_already_migrated_database_keeps_its_data(
    storage: Storage, open_storage: Callable[[], Storage]
) -> None:
    thread_id = await new_thread(storage)
    again = open_storage()
    await again.open()
    await again.close()
    await again.open()
    assert (await again.get_thread(thread_id)).thread_id == thread_id


async def test_two_storages_can_open_a_fresh_database_at_once(
    open_storage: Callable[[], Storage],
) -> None:
    first, second = open_storage(), open_storage()
    await asyncio.gather(first.open(), second.open())
    await first.create_thread(thread_id="t1")
    assert (await second.get_thread("t1")).status == "idle"


class Counter(TypedDict):
    n: int


def counter_graph(storage: Storage) -> CompiledStateGraph[Counter, None, Counter, Counter]:
    """One step that adds 1 to `n`, checkpointed by `storage`'s own checkpointer."""
    builder = StateGraph(Counter)
    builder.add_node("bump", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "bump")
    builder.add_edge("bump", END)
    return builder.compile(checkpointer=storage.checkpointer)


async def test_checkpointer_persists_graph_state_in_the_same_database(storage: Storage) -> None:
    graph = counter_graph(storage)
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    assert await graph.ainvoke({"n": 1}, config) == {"n": 2}
    state = await graph.aget_state(config)
    assert state.values == {"n": 2}


async def test_listener_gets_each_wake_up_once_until_unsubscribed(storage: Storage) -> None:
    inbox = Inbox()
    unsubscribe = storage.listen("custom", inbox)
    await storage.notify("custom", "p1")
    await storage.notify("other", "p2")
    assert await inbox.settle() == ["p1"]
    unsubscribe()
    await storage.notify("custom", "p3")
    assert await inbox.settle() == []


# -- PostgreSQL only ----------------------------------------------------------------------------
# Only PostgreSQL carries wake-ups between processes (NOTIFY/LISTEN). Two SqliteStorage objects
# on one file live in one process and the embedded backend serves a single process by design, so
# it only wakes its own listeners; these cases exist for PostgreSQL alone.
@pytest.fixture
async def pg_pair(pg_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two opened storages on one fresh PostgreSQL database (as two processes would have)."""
    first, second = create_storage(pg_url), create_storage(pg_url)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


@pytest.mark.postgres
async def test_listener_on_another_instance_is_woken_across_processes(
    pg_pair: tuple[Storage, Storage],
) -> None:
    storage, other = pg_pair
    queued, custom = Inbox(), Inbox()
    other.listen(RUN_QUEUED, queued)
    other.listen("custom", custom)
    own = Inbox()
    storage.listen("custom", own)

    await storage.notify("custom", "hello")
    run = await queue_run(storage, await new_thread(storage))

    await custom.expect("hello")
    await queued.expect(run.run_id)
    assert await own.settle() == ["hello"], "the sender's own NOTIFY is not delivered twice"


@pytest.mark.postgres
async def test_wake_ups_resume_after_the_listen_connection_is_killed(
    pg_pair: tuple[Storage, Storage], pg_url: str
) -> None:
    storage, other = pg_pair
    inbox = Inbox()
    other.listen("custom", inbox)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as admin:
        cur = await admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'agent-ops-listen' AND datname = current_database()"
        )
        assert (await cur.fetchone()) == (2,)
    async with asyncio.timeout(10):
        while True:  # NOTIFYs sent while it is down are lost by design; keep pinging
            await storage.notify("custom", "ping")
            with contextlib.suppress(TimeoutError):
                await inbox.expect("ping", within=0.2)
                break


@pytest.mark.postgres
async def test_unreachable_postgres_fails_fast_naming_the_server() -> None:
    storage = create_storage("postgresql://agent@127.0.0.1:9/agentdb")
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"127\.0\.0\.1:9/agentdb"):
        await storage.open()
    assert time.monotonic() - started < 6


# -- identity and integrity ---------------------------------------------------------------------
async def test_thread_metadata_update_merges_top_level_keys(storage: Storage) -> None:
    await storage.create_thread(thread_id="t1", metadata={"owner": {"team": "fin", "id": 1}})
    updated = await storage.update_thread("t1", metadata={"owner": {"team": "ops"}, "x": None})
    # Like update_assistant: a given key replaces the stored value whole, null included.
    assert updated.metadata == {"owner": {"team": "ops"}, "x": None}


async def test_cron_metadata_update_merges_top_level_keys(storage: Storage) -> None:
    cron = await make_cron(storage, metadata={"owner": {"team": "fin", "id": 1}})
    updated = await storage.update_cron(
        cron.cron_id, CronChanges(metadata={"owner": {"team": "ops"}})
    )
    assert updated.metadata == {"owner": {"team": "ops"}}


async def test_reusing_a_run_id_is_a_conflict(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    run = await finished_run(storage, thread_id)
    with pytest.raises(Conflict, match=run.run_id):
        await storage.create_run(
            run_id=run.run_id, thread_id=thread_id, assistant_id="agent", kwargs={}
        )


async def test_reusing_a_cron_id_is_a_conflict(storage: Storage) -> None:
    cron = await make_cron(storage)
    with pytest.raises(Conflict, match=cron.cron_id):
        await make_cron(storage, cron_id=cron.cron_id)


async def test_events_of_a_missing_run_are_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound, match="missing-run"):
        await storage.append_events("missing-run", [RunEvent(1, "values", b"{}")])


async def test_rollback_cancel_of_a_pending_run_ends_it_interrupted(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    pending = await queue_run(storage, thread_id, after_seconds=30)
    after = await storage.cancel_runs([pending.run_id], action="rollback")
    assert [(r.run_id, r.status) for r in after] == [(pending.run_id, "interrupted")]
    assert (await storage.get_run(pending.run_id)).status == "interrupted"


async def test_purge_removes_finished_stateless_threads_only(storage: Storage) -> None:
    async def stateless_run(run_id: str, thread_id: str, **kwargs: Any) -> Run:
        """A run without a thread of its own: the thread is made for it, marked stateless."""
        return await storage.create_run(
            run_id=run_id,
            thread_id=thread_id,
            assistant_id="a",
            kwargs=kwargs,
            if_not_exists="create",
            stateless=True,
        )

    stateless = await stateless_run("s1", "ts")
    kept = await stateless_run("s2", "tk", on_completion="keep")
    await storage.create_thread(thread_id="tn")
    await storage.create_run(run_id="n1", thread_id="tn", assistant_id="a", kwargs={})
    in_flight = await stateless_run("s3", "tf")
    for expected in (stateless, kept):
        claimed = await claim(storage, "w")
        assert claimed is not None and claimed.run_id == expected.run_id
        await storage.finish_run(claimed.run_id, worker_id="w", status="success")
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert await storage.purge_stateless_threads(finished_before=later) == ["ts"]
    with pytest.raises(NotFound):
        await storage.get_thread("ts")
    with pytest.raises(NotFound):
        await storage.get_run("s1")
    for thread_id in ("tk", "tn", "tf"):
        await storage.get_thread(thread_id)
    assert in_flight.status == "pending"


async def test_rollback_run_deletes_the_run_and_its_checkpoints_only(storage: Storage) -> None:
    graph = counter_graph(storage)
    thread_id = await new_thread(storage)
    earlier = await finished_run(storage, thread_id)
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "metadata": {"run_id": earlier.run_id},
    }
    await graph.ainvoke({"n": 1}, config)
    doomed = await queue_run(storage, thread_id)
    await claim_exactly(storage, doomed.run_id, worker="w1")
    await storage.append_events(doomed.run_id, [RunEvent(1, "values", b"{}")])
    await graph.ainvoke({"n": 10}, {**config, "metadata": {"run_id": doomed.run_id}})
    follower = await queue_run(storage, thread_id, multitask_strategy="enqueue")
    done, queued = Inbox(), Inbox()
    storage.listen(RUN_DONE, done)
    storage.listen(RUN_QUEUED, queued)

    assert not await storage.rollback_run(
        doomed.run_id, worker_id="w2", thread_values={"n": 2}, thread_interrupts={}
    ), "only the worker holding the run may roll it back"
    assert await storage.rollback_run(
        doomed.run_id, worker_id="w1", thread_values={"n": 2}, thread_interrupts={}
    )

    with pytest.raises(NotFound):
        await storage.get_run(doomed.run_id)
    await done.expect(doomed.run_id)
    assert await storage.read_events(doomed.run_id, after_seq=0) == []
    history = [
        c async for c in storage.checkpointer.alist({"configurable": {"thread_id": thread_id}})
    ]
    assert history and {c.metadata.get("run_id") for c in history} == {earlier.run_id}
    state = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    assert state.values == {"n": 2}, "the thread's head is the earlier run's last checkpoint"
    assert await graph.ainvoke(None, {"configurable": {"thread_id": thread_id}}) == {"n": 2}
    thread = await storage.get_thread(thread_id)
    assert (thread.status, thread.values) == ("busy", {"n": 2}), "the enqueued run is in flight"
    await claim_exactly(storage, follower.run_id, worker="w2")
    assert queued.queue.qsize() >= 1


async def test_rollback_run_restores_an_interrupted_thread(storage: Storage) -> None:
    thread_id = await new_thread(storage)
    doomed = await queue_run(storage, thread_id)
    await claim_exactly(storage, doomed.run_id)
    waiting = {"task-1": [{"value": "approve?", "id": "i1"}]}
    assert await storage.rollback_run(
        doomed.run_id, worker_id="w1", thread_values={"n": 1}, thread_interrupts=waiting
    )
    thread = await storage.get_thread(thread_id)
    assert (thread.status, thread.values, thread.interrupts) == ("interrupted", {"n": 1}, waiting)
