"""Health, info, OpenAPI and Prometheus metrics of a running server."""

from __future__ import annotations

import httpx
from langgraph_sdk import get_client

HI = {"messages": [{"role": "user", "content": "hi"}]}


async def test_ok_info_and_openapi(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/ok")).json() == {"ok": True}
        info = (await http.get("/info")).json()
        assert {"echo", "approve", "fail", "steps"} <= set(info["graphs"])
        spec = (await http.get("/openapi.json")).json()
        assert "/threads/{thread_id}/runs/stream" in spec["paths"]
        assert (await http.get("/docs")).status_code == 200


async def test_metrics_report_runs_queue_and_workers(url: str) -> None:
    client = get_client(url=url)
    await client.runs.wait(None, "echo", input=HI)
    async with httpx.AsyncClient(base_url=url) as http:
        text = (await http.get("/metrics")).text
    lines = {
        line.split(" ")[0]: line.split(" ")[1]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert float(lines['agent_ops_runs{status="success"}']) >= 1
    assert "agent_ops_queue_depth" in lines
    assert "agent_ops_queue_oldest_pending_seconds" in lines
    assert float(lines["agent_ops_workers"]) >= 1
    assert float(lines["agent_ops_run_duration_seconds_count"]) >= 1
