"""SQL thresholds: a named query of the SQL connector (tools.sql) on a real database, polled on
schedule, firing on the edge with hysteresis, every value seen kept; on both backends."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from agent_ops.runtime import Runtime
from agent_ops.storage import StoredTrigger
from agent_ops.triggers import TriggerCreate, TriggerService
from agent_ops.triggers.threshold import evaluate, parse_condition
from tests.triggers.conftest import StartRuntime
from tools.sql import SQLConfig, query_runner

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


class Warehouse:
    """The business database a threshold watches: one row whose value tests set."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._execute("CREATE TABLE balances (id integer PRIMARY KEY, amount integer)")
        self._execute("INSERT INTO balances VALUES (1, 0)")

    def _execute(self, sql: str, *params: object) -> None:
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                conn.execute(sql, params)
        else:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]

    def set(self, amount: int) -> None:
        self._execute("UPDATE balances SET amount = ? WHERE id = 1", amount)

    def runner(self):  # type: ignore[no-untyped-def]
        config = SQLConfig.model_validate(
            {
                "url": self.url,
                "name": "warehouse",
                "queries": {
                    "open_balance": {
                        "sql": "SELECT amount FROM balances WHERE id = 1",
                        "description": "the open balance",
                    },
                    "overdrawn": {
                        "sql": "SELECT id FROM balances WHERE amount < 0",
                        "description": "overdrawn accounts",
                    },
                },
            }
        )
        return query_runner({"warehouse": config})


@pytest.fixture
def warehouse(database_url: str) -> Warehouse:
    # The test's own fresh database stands in for the business system.
    return Warehouse(database_url)


async def _threshold(runtime: Runtime, **fields: object) -> StoredTrigger:
    body = {
        "name": "balance",
        "kind": "sql_threshold",
        "assistant_id": "collector",
        "schedule": "* * * * * *",
        "connection": "warehouse",
        "query": "open_balance",
        **fields,
    }
    trigger = await TriggerService(runtime).create(TriggerCreate.model_validate(body))
    await runtime.storage.update_trigger(trigger.trigger_id, {"next_due": T0})
    return trigger


async def test_fires_on_the_edge_and_rearms_past_the_hysteresis(
    start_runtime: StartRuntime, warehouse: Warehouse
) -> None:
    runtime = await start_runtime()
    trigger = await _threshold(runtime, condition="value > 100", hysteresis=10)
    service = TriggerService(runtime, queries=warehouse.runner())

    fired = []
    for second, amount in enumerate([50, 150, 160, 95, 85, 120]):
        warehouse.set(amount)
        fired.append(await service.tick(T0 + timedelta(seconds=second)))

    assert fired == [0, 1, 0, 0, 0, 1]
    seen = await runtime.storage.trigger_observations(trigger.trigger_id)
    assert [(o.value, o.fired) for o in reversed(seen)] == [
        (50, False),
        (150, True),
        (160, False),
        (95, False),
        (85, False),
        (120, True),
    ]
    events = await runtime.storage.trigger_events(trigger.trigger_id)
    runs = [await runtime.storage.get_run(e.run_id) for e in events]
    payloads = sorted(r.kwargs["input"]["payload"]["value"] for r in runs)
    assert payloads == [120, 150]


async def test_rows_condition_and_concurrent_pollers_poll_once_per_due_time(
    start_runtime: StartRuntime, warehouse: Warehouse
) -> None:
    runtime = await start_runtime()
    trigger = await _threshold(runtime, query="overdrawn", condition="rows > 0")
    pollers = [TriggerService(await start_runtime(), queries=warehouse.runner()) for _ in range(3)]

    warehouse.set(-5)
    won = await asyncio.gather(*(p.tick(T0) for p in pollers))

    assert sum(won) == 1
    seen = await runtime.storage.trigger_observations(trigger.trigger_id)
    assert [(o.row_count, o.fired) for o in seen] == [(1, True)]


async def test_changed_fires_when_the_value_differs_from_the_last_poll(
    start_runtime: StartRuntime, warehouse: Warehouse
) -> None:
    runtime = await start_runtime()
    trigger = await _threshold(runtime, condition="changed")
    service = TriggerService(runtime, queries=warehouse.runner())

    fired = []
    for second, amount in enumerate([7, 7, 8, 8]):
        warehouse.set(amount)
        fired.append(await service.tick(T0 + timedelta(seconds=second)))

    assert fired == [0, 0, 1, 0]
    after = await runtime.storage.get_trigger(trigger.trigger_id)
    assert after.state == {"armed": True, "value": 8}


async def test_an_unknown_query_is_recorded_on_the_trigger_and_polling_goes_on(
    start_runtime: StartRuntime, warehouse: Warehouse
) -> None:
    runtime = await start_runtime()
    trigger = await _threshold(runtime, query="no_such_query", condition="value > 1")
    service = TriggerService(runtime, queries=warehouse.runner())

    assert await service.tick(T0) == 0

    after = await runtime.storage.get_trigger(trigger.trigger_id)
    assert after.last_error is not None and "no_such_query" in after.last_error
    assert after.next_due == T0 + timedelta(seconds=1)


def test_conditions_parse_and_evaluate_without_a_database() -> None:
    above = parse_condition("value >= 10.5")
    state: dict[str, object] = {}
    outcomes = []
    for value in [1, 11, 12, 10, 9, 11]:
        result = evaluate(above, [{"v": value}], state, hysteresis=1.0)
        state = result.state
        outcomes.append(result.fire)
    # 10 is within the hysteresis band (>= 9.5): still disarmed; 9 re-arms; 11 fires again.
    assert outcomes == [False, True, False, False, False, True]
    below = evaluate(parse_condition("value < 0"), [{"v": -1}], {}, hysteresis=0)
    assert below.fire
    with pytest.raises(Exception, match="'value >> 1'"):
        parse_condition("value >> 1")
