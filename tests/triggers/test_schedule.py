"""Cron maths in time zones and the misfire policies, on the functions the scheduler uses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_ops.errors import InvalidInput
from agent_ops.storage import StoredTrigger
from agent_ops.triggers.schedule import next_fire, step_for
from agent_ops.triggers.spec import TriggerCreate

HK = ZoneInfo("Asia/Hong_Kong")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def test_eight_am_in_hong_kong_is_midnight_utc_every_day() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fires = []
    for _ in range(3):
        at = next_fire("0 8 * * *", at, "Asia/Hong_Kong")
        fires.append(at)

    assert [f.astimezone(HK).hour for f in fires] == [8, 8, 8]
    assert fires[0] == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert fires[1] - fires[0] == timedelta(days=1)


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # Spring forward (last Sunday of March in Berlin; second Sunday of March in New York).
        ("Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC), (7, 6)),
        ("America/New_York", datetime(2026, 3, 6, 18, tzinfo=UTC), (13, 12)),
        # Fall back.
        ("Europe/Berlin", datetime(2026, 10, 23, 12, tzinfo=UTC), (6, 7)),
    ],
)
def test_eight_am_stays_eight_am_local_across_a_dst_change(
    zone: str, before: datetime, after: tuple[int, int]
) -> None:
    first = next_fire("0 8 * * *", before, zone)
    second = next_fire("0 8 * * *", first, zone)

    assert first.astimezone(ZoneInfo(zone)).hour == second.astimezone(ZoneInfo(zone)).hour == 8
    # The UTC instant moves by the hour the clocks moved.
    assert (first.hour, second.hour) == after
    assert second - first in (timedelta(hours=23), timedelta(hours=25))


def test_a_time_skipped_by_spring_forward_fires_once_that_day() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29; the job neither vanishes for good nor
    # fires twice: the day after it is at 02:30 again.
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    fires = [next_fire("30 2 * * *", start, "Europe/Berlin")]
    fires.append(next_fire("30 2 * * *", fires[-1], "Europe/Berlin"))
    fires.append(next_fire("30 2 * * *", fires[-1], "Europe/Berlin"))

    local = [f.astimezone(BERLIN) for f in fires]
    assert len({f.date() for f in local}) == 3
    assert (local[0].hour, local[0].minute) == (3, 0)  # the first instant after the gap
    assert (local[2].hour, local[2].minute) == (2, 30)


def test_invalid_schedule_and_zone_are_named() -> None:
    bad_cron = TriggerCreate(name="x", kind="cron", assistant_id="a", schedule="0 25 * * *")
    bad_zone = TriggerCreate(
        name="x", kind="cron", assistant_id="a", schedule="0 8 * * *", timezone="Asia/Nowhere"
    )
    with pytest.raises(InvalidInput, match="^schedule: "):
        bad_cron.check("cron")
    with pytest.raises(InvalidInput, match="^timezone: .*Asia/Nowhere"):
        bad_zone.check("cron")


def _trigger(due: datetime, misfire: str, schedule: str = "0 * * * *") -> StoredTrigger:
    now = datetime.now(UTC)
    return StoredTrigger(
        trigger_id="t",
        tenant_id="default",
        owner="system",
        name="hourly",
        kind="cron",
        assistant_id="a",
        enabled=True,
        spec={"schedule": schedule, "misfire": misfire},
        input_mapping=None,
        business_key=None,
        multitask_strategy="enqueue",
        secret=None,
        state={},
        state_version=0,
        next_due=due,
        last_fired_at=None,
        last_error=None,
        last_error_at=None,
        created_at=now,
        updated_at=now,
    )


NOW = datetime(2026, 12, 6, 12, 20, tzinfo=UTC)
GRACE = timedelta(seconds=60)


def test_on_time_firing_moves_to_the_next_due_time() -> None:
    step = step_for(_trigger(datetime(2026, 12, 6, 12, 0, tzinfo=UTC), "skip"), NOW, GRACE * 30)
    assert (step.fire, step.late, step.following) == (
        True,
        False,
        datetime(2026, 12, 6, 13, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("policy", "fires", "following"),
    [
        ("fire_once", True, datetime(2026, 12, 6, 13, 0, tzinfo=UTC)),
        ("skip", False, datetime(2026, 12, 6, 13, 0, tzinfo=UTC)),
        # catch_up fires the missed 09:00 and moves to 10:00, which is due at once as well.
        ("catch_up", True, datetime(2026, 12, 6, 10, 0, tzinfo=UTC)),
    ],
)
def test_misfire_policies(policy: str, fires: bool, following: datetime) -> None:
    missed = _trigger(datetime(2026, 12, 6, 9, 0, tzinfo=UTC), policy)
    step = step_for(missed, NOW, GRACE)
    assert (step.fire, step.late, step.following) == (fires, True, following)


def test_a_threshold_poll_never_catches_up() -> None:
    poll = replace(
        _trigger(datetime(2026, 12, 6, 9, 0, tzinfo=UTC), "catch_up"), kind="sql_threshold"
    )
    assert step_for(poll, NOW, GRACE).following == datetime(2026, 12, 6, 13, 0, tzinfo=UTC)


def test_a_time_repeated_by_fall_back_fires_once_that_day() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25 (CEST, then CET); a daily report runs once.
    start = datetime(2026, 10, 24, 12, tzinfo=UTC)
    first = next_fire("30 2 * * *", start, "Europe/Berlin")
    second = next_fire("30 2 * * *", first, "Europe/Berlin")

    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
    assert second.astimezone(BERLIN).hour == 2
