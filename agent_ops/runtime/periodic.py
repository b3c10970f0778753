"""Steps repeated on a timer in the background (firing due crons, escalating overdue
approvals, ticking triggers): a failed step is logged and tried again at the next interval, so
a storage outage or a bug in one step does not stop the schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["every"]

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
