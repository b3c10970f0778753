"""The cron scheduler: turns due crons into runs, each due firing exactly once across processes.

Every process with workers runs one scheduler; `claim_due_crons` advances a due cron to its next
fire time in the same transaction that hands it out, so a firing is claimed by one process only.
Schedules are standard 5-field cron expressions (a 6th field, seconds, is accepted too),
evaluated in the cron's time zone (UTC unless its payload names one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from agent_ops.errors import InvalidInput
from agent_ops.storage import Cron, Run, Storage
from agent_ops.types import Json

log = logging.getLogger(__name__)

CreateRun = Callable[[str | None, Json], Awaitable[Run]]


def check_schedule(schedule: str, timezone: str | None = None) -> None:
    """Raise InvalidInput naming the problem if the schedule or time zone is unusable."""
    if not croniter.is_valid(schedule, second_at_beginning=False):
        raise InvalidInput(f"schedule {schedule!r} is not a valid cron expression")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"timezone {timezone!r} is not a known IANA time zone") from None


def next_fire(schedule: str, after: datetime, timezone: str | None = None) -> datetime:
    """Return the first fire time strictly after `after` (aware, UTC)."""
    zone = ZoneInfo(timezone) if timezone else UTC
    local = after.astimezone(zone)
    following: datetime = croniter(schedule, local).get_next(datetime)
    return following.astimezone(UTC)


def _following(cron: Cron) -> datetime | None:
    base = max(cron.next_run_date or datetime.now(UTC), datetime.now(UTC))
    nxt = next_fire(cron.schedule, base, cron.payload.get("timezone"))
    if cron.end_time is not None and nxt > cron.end_time:
        return None
    return nxt


class CronScheduler:
    """Fires due crons as runs, checking every `interval` seconds."""

    def __init__(self, storage: Storage, create_run: CreateRun, *, interval: float = 1.0) -> None:
        self._storage = storage
        self._create_run = create_run
        self._interval = interval

    async def run_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("cron scheduler tick failed")
            await asyncio.sleep(self._interval)

    async def tick(self) -> int:
        """Fire every due cron once; return how many fired."""
        due = await self._storage.claim_due_crons(now=datetime.now(UTC), next_run=_following)
        for cron in due:
            request = {k: v for k, v in cron.payload.items() if k not in ("timezone", "schedule")}
            request["metadata"] = {
                **(request.get("metadata") or {}),
                "cron_id": cron.cron_id,
                "cron_fire_time": cron.next_run_date.isoformat() if cron.next_run_date else None,
            }
            if cron.thread_id is not None:
                request.setdefault("multitask_strategy", "enqueue")
            try:
                run = await self._create_run(cron.thread_id, request)
                log.info("cron %s fired run %s", cron.cron_id, run.run_id)
            except Exception as exc:
                log.warning("cron %s could not start its run: %s", cron.cron_id, exc)
        return len(due)
