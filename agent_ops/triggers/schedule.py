"""When a scheduled trigger is due next, and what a late one does (its misfire policy).

Cron expressions are croniter's (5 fields, or 6 with seconds last), evaluated in the trigger's
IANA time zone, so `0 8 * * *` in Asia/Hong_Kong is 08:00 there whatever the server's zone, and
in a zone with summer time it stays 08:00 local across the change (the UTC instant moves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from agent_ops.runtime import check_schedule, next_fire
from agent_ops.storage import StoredTrigger

__all__ = ["MisfirePolicy", "Step", "check_schedule", "next_fire", "step_for"]

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
    if trigger.kind == "sql_threshold":
        # A poll looks at the data now; missed polls have nothing left to see.
        return Step(due, next_fire(schedule, now, zone), fire=True, late=late)
    if not late or policy == "catch_up":
        return Step(due, next_fire(schedule, due, zone), fire=True, late=late)
    return Step(due, next_fire(schedule, now, zone), fire=policy == "fire_once", late=True)
