"""Wake-ups of runs that another run ends, on every backend (`storage` fixture: sqlite, postgres).

A client waiting on a run (`runs/join`, `runs/wait`) listens for RUN_DONE; a run ended by
another one (multitask strategy `interrupt`/`rollback`) or cancelled before it started must wake
it at once, as a finished run does, and the thread's next run must wake the workers.
"""

from __future__ import annotations

import uuid

import pytest

from agent_ops.storage import RUN_DONE, RUN_QUEUED, Run, Storage
from tests.storage.test_conformance import Inbox, claim_exactly, new_thread


async def _queue(storage: Storage, thread_id: str, strategy: str = "enqueue") -> Run:
    return await storage.create_run(
        run_id=str(uuid.uuid4()),
        thread_id=thread_id,
        assistant_id="agent",
        kwargs={"input": {}},
        multitask_strategy=strategy,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_pending_run_replaced_by_a_new_one_wakes_its_waiters(
    storage: Storage, strategy: str
) -> None:
    thread_id = await new_thread(storage)
    running = await _queue(storage, thread_id, "reject")
    await claim_exactly(storage, running.run_id)
    pending = await _queue(storage, thread_id)
    done = Inbox()
    storage.listen(RUN_DONE, done)

    await _queue(storage, thread_id, strategy)

    assert (await storage.get_run(pending.run_id)).status == "interrupted"
    await done.expect(pending.run_id, within=1.0)


async def test_cancelling_a_pending_run_wakes_the_workers_for_the_next_one(
    storage: Storage,
) -> None:
    thread_id = await new_thread(storage)
    first = await _queue(storage, thread_id, "reject")
    second = await _queue(storage, thread_id)
    queued = Inbox()
    storage.listen(RUN_QUEUED, queued)

    await storage.cancel_runs([first.run_id], action="interrupt")

    await queued.expect(second.run_id, within=1.0)
    await claim_exactly(storage, second.run_id)
