"""Two real processes (`serve` and `worker`) on one PostgreSQL database, each running the trigger
scheduler: a cron due every second fires each second once, and every firing's run executes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from tests.pgcluster import PgCluster
from tests.servers import AgentOpsProcess
from tests.triggers.conftest import GRAPHS

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def two_processes(pg_cluster: PgCluster, tmp_path: Path) -> Iterator[str]:
    url = pg_cluster.create_database(f"triggers_{uuid.uuid4().hex}")
    env = {"AGENT_OPS_TRIGGER_TICK_SECONDS": "0.2", "AGENT_OPS_POLL_SECONDS": "0.5"}
    server = AgentOpsProcess(url, tmp_path, config=GRAPHS, env=env, name="serve").start()
    worker = AgentOpsProcess(
        url, tmp_path, command="worker", config=GRAPHS, env=env, name="worker"
    ).start()
    try:
        assert server.url is not None
        yield server.url
    finally:
        worker.stop()
        server.stop()


async def test_two_processes_fire_each_second_of_a_cron_once(two_processes: str) -> None:
    async with httpx.AsyncClient(base_url=two_processes) as http:
        created = await http.post(
            "/triggers",
            json={
                "name": "every-second",
                "kind": "cron",
                "assistant_id": "collector",
                "schedule": "* * * * * *",
            },
        )
        assert created.status_code == 200, created.text
        trigger_id = created.json()["trigger_id"]
        await asyncio.sleep(4)
        await http.patch(f"/triggers/{trigger_id}", json={"enabled": False})
        events = (await http.get(f"/triggers/{trigger_id}/events")).json()

    dues = sorted(datetime.fromisoformat(e["event_key"].removeprefix("due:")) for e in events)
    assert len(dues) >= 3
    # Consecutive seconds: none lost, none twice.
    assert [(b - a).total_seconds() for a, b in zip(dues, dues[1:], strict=False)] == [1.0] * (
        len(dues) - 1
    )
    client = get_client(url=two_processes)
    for event in events:
        runs = await client.runs.list(event["thread_id"])
        assert [r["run_id"] for r in runs] == [event["run_id"]]
        done = await client.runs.join(event["thread_id"], event["run_id"])
        assert done["trigger"]["id"] == trigger_id
