"""Two `serve` processes on one PostgreSQL database: the process posting a run's webhook is
killed with SIGKILL while the receiver hangs, and the other process delivers the same message
(same `webhook-id`, signed) once the dead one's lease lapses."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.pgcluster import PgCluster
from tests.servers import AgentOpsProcess
from tests.triggers.receiver import Receiver, verified

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRET = "whsec_" + base64.b64encode(b"webhook outbox kill test secret!").decode()
TIMEOUT_SECONDS = 4.0  # one attempt's limit; a lease lasts two


@pytest.fixture
def two_servers(pg_cluster: PgCluster, tmp_path: Path) -> Iterator[list[AgentOpsProcess]]:
    url = pg_cluster.create_database(f"outbox_{uuid.uuid4().hex}")
    env = {
        "AGENT_OPS_POLL_SECONDS": "0.5",
        "AGENT_OPS_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver listens on loopback
        "AGENT_OPS_WEBHOOK_SECRET": SECRET,
        "AGENT_OPS_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "AGENT_OPS_WEBHOOK_RETRY_SECONDS": "0.2",
    }
    servers = [AgentOpsProcess(url, tmp_path, env=env, name=f"serve-{i}").start() for i in (1, 2)]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


async def _delivery(http: httpx.AsyncClient, thread_id: str, run_id: str) -> dict[str, Any]:
    response = await http.get(f"/threads/{thread_id}/runs/{run_id}/webhook")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_webhook_of_a_process_killed_mid_delivery_is_delivered_by_the_other(
    two_servers: list[AgentOpsProcess],
) -> None:
    first, second = two_servers
    assert first.url is not None and second.url is not None
    client = get_client(url=first.url)
    with Receiver(hold_first=True) as hook:
        thread = await client.threads.create()
        thread_id = thread["thread_id"]
        run = await client.runs.create(
            thread_id,
            "echo",
            input={"messages": [{"role": "user", "content": "hi"}]},
            webhook=hook.url,
        )
        run_id = run["run_id"]
        await client.runs.join(thread_id, run_id)
        await hook.wait_for(1)  # the first post arrived and hangs there

        async with httpx.AsyncClient(base_url=second.url) as http:
            state = await _delivery(http, thread_id, run_id)
            assert state["state"] == "pending" and state["delivering"], state
            holder_pid = int(state["delivering"].split(":")[2])
            holder, survivor = (
                (first, second) if first.proc and first.proc.pid == holder_pid else (second, first)
            )
            assert holder.proc is not None and holder.proc.pid == holder_pid
            holder.kill()
            hook.release.set()  # the receiver answers again (200), for whoever asks

            posts = await hook.wait_for(2, within=TIMEOUT_SECONDS * 2 + 10)
            assert survivor.url is not None
            async with httpx.AsyncClient(base_url=survivor.url) as alive:
                for _ in range(100):
                    state = await _delivery(alive, thread_id, run_id)
                    if state["state"] == "delivered":
                        break
                    await asyncio.sleep(0.1)
    assert state["state"] == "delivered" and state["attempts"] == 2, state
    assert posts[0].headers["webhook-id"] == posts[1].headers["webhook-id"] == state["webhook_id"]
    assert [verified(p, SECRET)["run_id"] for p in posts] == [run_id, run_id]
    assert len(hook.posts) == 2, "delivered once by the survivor after the killed attempt"
