"""When a scheduled trigger is due next, and what a late one does (its misfire policy).

Cron expressions are croniter's (5 fields, or 6 with seconds last), evaluated in the trigger's
IANA time zone, so `0 8 * * *` in Asia/Hong_Kong is 08:00 there whatever the server's zone, and
in a zone with summer time it stays 08:00 local across the change (the UTC instant moves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError

from agent_ops.errors import InvalidInput
from agent_ops.runtime import check_schedule
from agent_ops.runtime import next_fire as _next_instant
from agent_ops.storage import StoredTrigger

__all__ = ["MisfirePolicy", "Step", "check_schedule", "next_fire", "step_for"]


def next_fire(schedule: str, after: datetime, timezone: str | None = None) -> datetime:
    """Return the first fire time strictly after `after` (aware, UTC), each local wall-clock
    time once: when clocks fall back, 02:30 happens twice and croniter would fire at both; the
    repeated one (fold=1) is skipped. A time skipped by spring-forward fires at the first
    instant after the gap (03:00 for 02:30)."""
    try:
        following = _next_instant(schedule, after, timezone)
    except CroniterBadDateError:  # e.g. `0 0 30 2 *`: valid fields, no such day
        raise InvalidInput(f"schedule {schedule!r} never fires after {after.isoformat()}") from None
    if timezone:
        zone = ZoneInfo(timezone)
        local = following.astimezone(zone)
        if local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset():
            following = next_fire(schedule, following, timezone)
    return following


MisfirePolicy = Literal["fire_once", "skip", "catch_up"]


@dataclass(frozen=True, slots=True)
class Step:
    """What to do with one due time: move `next_due` to `following`, firing `due` or not."""

    due: datetime
    following: datetime | None
    fire: bool
    late: bool


def step_for(trigger: StoredTrigger, now: datetime, grace: timedelta) -> Step:
    """Decide a due trigger's step. On time (within `grace`) it fires and moves to the next
    time after `due`. Late, by its misfire policy: `fire_once` fires once and moves past now,
    `skip` fires nothing and moves past now, `catch_up` fires this due time and moves to the
    one after it (so each missed time fires, one claim each)."""
    due = trigger.next_due
    if due is None:
        raise ValueError(f"trigger {trigger.trigger_id} is not scheduled")
    schedule = str(trigger.spec["schedule"])
    zone = trigger.spec.get("timezone")
    late = now - due > grace
    policy = trigger.spec.get("misfire", "fire_once")
    if trigger.kind != "cron":
        # A poll looks at the data (or the mailbox, the folder) now; a missed poll has nothing
        # left to see that the next one will not.
        return Step(due, next_fire(schedule, now, zone), fire=True, late=late)
    if not late or policy == "catch_up":
        return Step(due, next_fire(schedule, due, zone), fire=True, late=late)
    return Step(due, next_fire(schedule, now, zone), fire=policy == "fire_once", late=True)
