"""Leader-free scheduling: several runtimes (each its own connections, as separate processes
would have) tick at once over the same database, on SQLite and on PostgreSQL, and each due
time fires exactly once; late triggers follow their misfire policy; a failing target is
recorded and the schedule moves on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from agent_ops.runtime import Runtime
from agent_ops.storage import StoredTrigger
from agent_ops.triggers import TriggerCreate, TriggerPatch, TriggerService
from tests.triggers.conftest import StartRuntime

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


async def _cron(runtime: Runtime, **fields: object) -> StoredTrigger:
    body = {"name": "report", "kind": "cron", "assistant_id": "collector", **fields}
    return await TriggerService(runtime).create(TriggerCreate.model_validate(body))


async def _due_at(runtime: Runtime, trigger: StoredTrigger, due: datetime) -> None:
    await runtime.storage.update_trigger(trigger.trigger_id, {"next_due": due})


async def _claimers(start_runtime: StartRuntime, n: int) -> list[TriggerService]:
    return [TriggerService(await start_runtime(), misfire_grace=60) for _ in range(n)]


async def test_concurrent_claimers_fire_each_due_time_once(start_runtime: StartRuntime) -> None:
    runtime = await start_runtime()
    triggers = [
        await _cron(runtime, name=f"every-second-{i}", schedule="* * * * * *", misfire="catch_up")
        for i in range(4)
    ]
    for trigger in triggers:  # ten missed seconds each, plus the one due now
        await _due_at(runtime, trigger, NOW - timedelta(seconds=10))
    claimers = await _claimers(start_runtime, 4)

    won = await asyncio.gather(*(c.tick(NOW) for c in claimers))

    assert sum(won) == 4 * 11
    for trigger in triggers:
        events = await runtime.storage.trigger_events(trigger.trigger_id)
        keys = sorted(e.event_key for e in events)
        assert keys == sorted(f"due:{(NOW - timedelta(seconds=s)).isoformat()}" for s in range(11))
        for event in events:  # one run per event, on its own thread
            run = await runtime.storage.get_run(event.run_id)
            assert run.metadata["trigger_event"] == event.event_key
        after = await runtime.storage.get_trigger(trigger.trigger_id)
        assert after.next_due == NOW + timedelta(seconds=1)


async def test_a_due_cron_fires_once_however_many_claimers_tick(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    trigger = await _cron(runtime, schedule="0 8 * * *", timezone="Asia/Hong_Kong")
    due = trigger.next_due
    assert due is not None and due.astimezone(UTC).hour == 0  # 08:00 in Hong Kong
    claimers = await _claimers(start_runtime, 3)

    won = await asyncio.gather(
        *(c.tick(due + timedelta(seconds=1)) for _ in range(3) for c in claimers)
    )

    assert sum(won) == 1
    assert len(await runtime.storage.trigger_events(trigger.trigger_id)) == 1
    after = await runtime.storage.get_trigger(trigger.trigger_id)
    assert after.next_due == due + timedelta(days=1)
    assert after.last_fired_at is not None


async def test_misfire_policies_after_a_long_outage(start_runtime: StartRuntime) -> None:
    runtime = await start_runtime()
    five_hours_ago = NOW.replace(minute=0, second=0) - timedelta(hours=5)
    fired = {}
    for policy in ("fire_once", "skip", "catch_up"):
        trigger = await _cron(runtime, name=policy, schedule="0 * * * *", misfire=policy)
        await _due_at(runtime, trigger, five_hours_ago)
        fired[policy] = trigger

    await TriggerService(runtime, misfire_grace=60).tick(NOW)

    counts = {
        policy: len(await runtime.storage.trigger_events(t.trigger_id))
        for policy, t in fired.items()
    }
    assert counts == {"fire_once": 1, "skip": 0, "catch_up": 6}
    for trigger in fired.values():
        after = await runtime.storage.get_trigger(trigger.trigger_id)
        assert after.next_due == NOW.replace(minute=0, second=0) + timedelta(hours=1)


async def test_a_failing_target_is_recorded_and_later_firings_still_happen(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    # One thread for every firing, and `reject` while its first run waits (no workers here):
    # the second firing fails on the busy thread.
    trigger = await _cron(
        runtime, schedule="* * * * * *", business_key="daily", multitask_strategy="reject"
    )
    service = TriggerService(runtime, misfire_grace=60)
    await _due_at(runtime, trigger, NOW)

    assert await service.tick(NOW) == 1
    assert await service.tick(NOW + timedelta(seconds=1)) == 0
    failed = await runtime.storage.get_trigger(trigger.trigger_id)
    assert failed.last_error is not None and "busy" in failed.last_error
    assert failed.next_due == NOW + timedelta(seconds=2)

    # The thread's run finishes elsewhere; the next due time fires again and clears the error.
    (event,) = await runtime.storage.trigger_events(trigger.trigger_id)
    await runtime.runs.cancel(event.run_id, thread_id=event.thread_id, action="interrupt")
    assert await service.tick(NOW + timedelta(seconds=2)) == 1
    recovered = await runtime.storage.get_trigger(trigger.trigger_id)
    assert recovered.last_error is None


async def test_a_disabled_trigger_does_not_fire_and_reenabling_skips_the_time_it_was_off(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    service = TriggerService(runtime)
    trigger = await _cron(runtime, schedule="0 * * * *", enabled=False)
    await _due_at(runtime, trigger, NOW - timedelta(hours=3))

    assert await service.tick(NOW) == 0

    enabled = await service.update(trigger.trigger_id, TriggerPatch(enabled=True))
    assert enabled.next_due is not None and enabled.next_due > datetime.now(UTC)
    assert await runtime.storage.trigger_events(trigger.trigger_id) == []


async def test_a_firing_runs_with_the_triggers_run_config(start_runtime: StartRuntime) -> None:
    runtime = await start_runtime()
    config = {"configurable": {"invoice_policy": {"reviewers": ["ap@example.org"]}}}
    trigger = await _cron(runtime, schedule="0 * * * *", config=config)
    await _due_at(runtime, trigger, NOW)

    assert await TriggerService(runtime).tick(NOW) == 1

    (event,) = await runtime.storage.trigger_events(trigger.trigger_id)
    run = await runtime.storage.get_run(event.run_id)
    assert run.kwargs["config"]["configurable"]["invoice_policy"] == {
        "reviewers": ["ap@example.org"]
    }
