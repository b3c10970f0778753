"""Background tasks: steps repeated on a timer (firing due crons, escalating overdue approvals,
ticking triggers), where a failed step is logged and tried again at the next interval, so a
storage outage or a bug in one step does not stop the schedule; and how such tasks are stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["cancel_and_wait", "every"]

log = logging.getLogger(__name__)


async def every(interval: float, step: Callable[[], Awaitable[object]], failure: str) -> None:
    """Run `step`, then wait `interval` seconds, until cancelled; a failed step is logged with
    `failure` and the next one runs on time."""
    while True:
        try:
            await step()
        except Exception:
            log.exception(failure)
        await asyncio.sleep(interval)


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel `tasks` and return once every one has ended (their errors are not raised).

    One cancel is not always enough: on Python 3.11 `asyncio.wait_for` returns the inner result
    when the cancel lands just as that completes, and psycopg_pool waits for a free connection
    with it, so a loop cancelled while it waited for one goes on as if never cancelled (a run's
    stream flusher did, and the run's ending waited for it forever). So a task still running is
    cancelled again at its next wait."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=_RECANCEL_SECONDS)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved


_RECANCEL_SECONDS = 0.1
