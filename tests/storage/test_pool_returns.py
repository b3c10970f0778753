"""A connection goes back to the pool even when the task returning it is cancelled.

psycopg_pool hands a returned connection to the oldest waiting client, under that client's lock
and its own; both can suspend, and a cancel landing there used to lose the connection (neither
pooled nor handed over, still counted) and leave the dequeued client to wait out its timeout.
`StreamBus.settle` cancelling a flusher mid-write did that under load: at 16 clients one server
process lost 8 of its 10 connections in 90 s, and requests failed with `couldn't get a
connection after 30.00 sec`. The test uses the pool the storage uses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from psycopg_pool.pool_async import WaitingClient

from agent_ops.storage.postgres.link import CONNECTION_KWARGS, Pool

pytestmark = pytest.mark.postgres


async def _pool(url: str, size: int, wait_seconds: float) -> Pool:
    pool = Pool(
        url,
        kwargs=CONNECTION_KWARGS,
        min_size=size,
        max_size=size,
        timeout=wait_seconds,
        open=False,
    )
    await pool.open(wait=True, timeout=10)
    return pool


async def _queued(pool: Pool, count: int) -> None:
    while pool.get_stats().get("requests_waiting", 0) < count:  # noqa: ASYNC110 (no event)
        await asyncio.sleep(0.005)


async def test_a_return_cancelled_during_the_hand_over_still_serves_the_waiting_client(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handing, release = asyncio.Event(), asyncio.Event()
    hand_over = WaitingClient.set

    async def suspended_set(self: WaitingClient[Any], conn: Any) -> bool:
        # The hand-over suspends here, as it does when the client holds its own lock.
        handing.set()
        await release.wait()
        return await hand_over(self, conn)

    monkeypatch.setattr(WaitingClient, "set", suspended_set)
    pool = await _pool(pg_url, 1, wait_seconds=5)
    try:
        held = await pool.getconn()
        waiting = asyncio.create_task(pool.getconn())
        await _queued(pool, 1)
        returning = asyncio.create_task(pool.putconn(held))
        await handing.wait()
        returning.cancel()
        with pytest.raises(asyncio.CancelledError):
            await returning  # the caller still sees its cancellation at once
        release.set()
        served = await asyncio.wait_for(waiting, 3)  # not after its 5 s timeout, not never
        assert served is held
        await pool.putconn(served)
        stats = pool.get_stats()
        assert (stats["pool_size"], stats["pool_available"]) == (1, 1)
    finally:
        await pool.close()
