"""The intake ledger in both storage backends: each item starts exactly one run, atomically.

Runs once per backend through the `storage` fixture (ids `sqlite` and `postgres`), through the
`Storage` protocol only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from agent_ops.errors import Conflict, NotFound
from agent_ops.storage import RUN_QUEUED, IntakeEntry, IntakeItem, Page, Storage


def new_id() -> str:
    return str(uuid.uuid4())


async def take_in(storage: Storage, entry: IntakeEntry, **payload: Any) -> tuple[IntakeItem, bool]:
    return await storage.create_intake_run(
        entry,
        run_id=new_id(),
        thread_id=new_id(),
        assistant_id="agent",
        kwargs={"input": {"intake": payload}, "stream_mode": ["values"]},
        metadata={"intake_source": entry.source},
        thread_metadata={"graph_id": "agent"},
    )


async def test_an_item_taken_in_queues_its_run_on_a_new_thread_in_the_ledger(
    storage: Storage,
) -> None:
    queued: list[str] = []
    storage.listen(RUN_QUEUED, queued.append)
    entry = IntakeEntry("mail", "INBOX/7/101", origin="<a@b>", summary={"subject": "Invoice"})
    item, created = await take_in(storage, entry, subject="Invoice")
    assert created
    assert (item.source, item.key, item.origin) == ("mail", "INBOX/7/101", "<a@b>")
    assert item.summary == {"subject": "Invoice"} and item.settled_at is None
    run = await storage.get_run(item.run_id, thread_id=item.thread_id)
    assert run.status == "pending" and run.assistant_id == "agent"
    assert run.kwargs["input"] == {"intake": {"subject": "Invoice"}}
    assert run.metadata == {"intake_source": "mail"}
    thread = await storage.get_thread(item.thread_id)
    assert thread.status == "busy" and thread.metadata == {"graph_id": "agent"}
    assert await storage.get_intake("mail", "INBOX/7/101") == item
    await asyncio.sleep(0.05)
    assert item.run_id in queued


async def test_an_item_seen_again_returns_the_stored_row_and_queues_nothing(
    storage: Storage,
) -> None:
    entry = IntakeEntry("folder:in", "ab" * 32, origin="claim-1")
    first, created = await take_in(storage, entry)
    again, created_again = await take_in(
        storage, IntakeEntry("folder:in", "ab" * 32, origin="claim-2")
    )
    assert created and not created_again
    assert again == first  # the first copy's origin and run, not the second's
    assert len(await storage.search_threads(page=Page(limit=10))) == 1
    # The same key under another source is another item.
    _, other = await take_in(storage, IntakeEntry("mail", "ab" * 32))
    assert other


async def test_many_processes_taking_in_one_item_at_once_start_exactly_one_run(
    storage: Storage, open_storage: Callable[[], Storage]
) -> None:
    others = [open_storage() for _ in range(2)]
    for other in others:
        await other.open()
    entry = IntakeEntry("mail", "INBOX/1/5")
    outcomes = await asyncio.gather(
        *(take_in(s, entry) for _ in range(4) for s in (storage, *others))
    )
    assert sum(created for _, created in outcomes) == 1
    assert len({item.run_id for item, _ in outcomes}) == 1
    assert len(await storage.search_threads(page=Page(limit=20))) == 1


async def test_a_run_that_cannot_be_queued_leaves_no_ledger_row(storage: Storage) -> None:
    thread_id = new_id()
    await storage.create_thread(thread_id=thread_id)
    busy = await storage.create_run(
        run_id=new_id(), thread_id=thread_id, assistant_id="agent", kwargs={}
    )
    with pytest.raises(Conflict, match="already exists"):
        await storage.create_intake_run(
            IntakeEntry("mail", "INBOX/1/9"),
            run_id=busy.run_id,  # a clash makes queueing fail inside the transaction
            thread_id=new_id(),
            assistant_id="agent",
            kwargs={},
        )
    assert await storage.get_intake("mail", "INBOX/1/9") is None


async def test_settling_an_item_records_when_it_left_its_source_once(storage: Storage) -> None:
    item, _ = await take_in(storage, IntakeEntry("mail", "INBOX/1/1"))
    settled = await storage.settle_intake("mail", "INBOX/1/1")
    assert settled.settled_at is not None and settled.settled_at >= item.created_at
    assert (await storage.settle_intake("mail", "INBOX/1/1")).settled_at == settled.settled_at
    with pytest.raises(NotFound, match="INBOX/1/2"):
        await storage.settle_intake("mail", "INBOX/1/2")
    assert await storage.get_intake("mail", "INBOX/1/2") is None


async def test_the_ledger_lists_newest_first_per_source_with_paging(storage: Storage) -> None:
    keys = [f"INBOX/1/{uid}" for uid in range(1, 5)]
    for key in keys:
        await take_in(storage, IntakeEntry("mail", key))
        await asyncio.sleep(0.01)
    await take_in(storage, IntakeEntry("folder:in", "cd" * 32))
    mail = await storage.list_intake(source="mail")
    assert [i.key for i in mail] == keys[::-1]
    page = await storage.list_intake(source="mail", limit=2, offset=1)
    assert [i.key for i in page] == keys[::-1][1:3]
    everything = await storage.list_intake()
    assert everything[0].source == "folder:in" and len(everything) == 5
