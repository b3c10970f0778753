"""`agent-ops serve --processes N`: N processes serve one socket and meet in PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psycopg
import pytest
from langgraph_sdk import get_client

from tests.commands import run_command
from tests.servers import TEST_GRAPHS, AgentOpsProcess


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def _runs(url: str, clients: int, each: int) -> list[dict[str, object]]:
    client = get_client(url=url)

    async def one() -> list[dict[str, object]]:
        outputs = []
        for n in range(each):
            thread = await client.threads.create()
            content = f"hello {n}"
            output = await client.runs.wait(
                thread["thread_id"],
                "echo",
                input={"messages": [{"role": "user", "content": content}]},
            )
            assert isinstance(output, dict)
            outputs.append(output)
        return outputs

    found = await asyncio.gather(*(one() for _ in range(clients)))
    return [output for outputs in found for output in outputs]


@pytest.mark.postgres
def test_two_processes_serve_one_port_run_runs_and_stop_together(
    tmp_path: Path, pg_url: str
) -> None:
    server = AgentOpsProcess(pg_url, tmp_path, env={"AGENT_OPS_PROCESSES": "2"}).start()
    try:
        assert server.proc is not None and server.url is not None
        copies = _children(server.proc.pid)
        assert len(copies) == 1, copies
        outputs = asyncio.run(_runs(server.url, clients=8, each=6))
        assert len(outputs) == 48
        assert all(output["messages"] for output in outputs)
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SELECT count(DISTINCT worker_id), count(*) FROM runs").fetchone()
        assert row == (2, 48), f"runs were executed by {row[0] if row else 0} processes"
    finally:
        code = server.terminate() if server.proc and server.proc.poll() is None else None
    assert code == 0, server.log()
    assert not Path(f"/proc/{copies[0]}").exists(), "the copy outlived the first process"


def test_processes_on_sqlite_are_refused_naming_the_setting(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/a.db"
    env = {**os.environ, "AGENT_OPS_DATABASE_URL": database, "AGENT_OPS_PROCESSES": "3"}
    result = run_command("serve", "--config", str(TEST_GRAPHS), "--port", "0", env=env)
    assert result.returncode == 2
    assert "agent-ops: error: AGENT_OPS_PROCESSES=3 needs PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
