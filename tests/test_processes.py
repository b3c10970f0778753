"""`agent-ops serve --processes N`: N processes serve one socket and meet in PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from langgraph_sdk import get_client

from tests.commands import run_command
from tests.servers import TEST_GRAPHS, AgentOpsProcess


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def _runs(url: str, clients: int, each: int) -> list[dict[str, object]]:
    async def one() -> list[dict[str, object]]:
        outputs = []
        for n in range(each):
            # A client (so a connection) per run: the kernel spreads connections, not
            # requests, over the processes, and a run is carried out where its request came.
            async with get_client(url=url) as client:
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


@pytest.mark.postgres
def test_a_copy_hung_on_shutdown_is_killed_after_the_grace_and_frees_the_port(
    tmp_path: Path, pg_url: str
) -> None:
    env = {"AGENT_OPS_PROCESSES": "2", "AGENT_OPS_SHUTDOWN_GRACE_SECONDS": "0"}
    server = AgentOpsProcess(pg_url, tmp_path, env=env).start()
    assert server.proc is not None and server.url is not None
    [copy] = _children(server.proc.pid)
    os.kill(copy, signal.SIGSTOP)  # hung: it cannot act on the SIGTERM it is sent
    started = time.monotonic()
    try:
        code = server.terminate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(copy, signal.SIGKILL)  # only if the first process left it behind
    took = time.monotonic() - started
    # The bound: the grace (0 s) plus the 10 s margin, plus the first process's own stop.
    assert code == 0 and took < 20, f"stopped with {code} after {took:.1f} s"
    assert f"serving process {copy} did not stop within 10 s; killing it" in server.log()
    assert not Path(f"/proc/{copy}").exists(), "the hung copy outlived the first process"
    parts = urlsplit(server.url)
    with socket.socket() as again:  # nothing holds the port any more
        again.bind((parts.hostname or "127.0.0.1", parts.port or 0))


def test_processes_on_sqlite_are_refused_naming_the_setting(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/a.db"
    env = {**os.environ, "AGENT_OPS_DATABASE_URL": database, "AGENT_OPS_PROCESSES": "3"}
    result = run_command("serve", "--config", str(TEST_GRAPHS), "--port", "0", env=env)
    assert result.returncode == 2
    assert "agent-ops: error: AGENT_OPS_PROCESSES=3 needs PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_port_another_server_holds_is_refused_even_if_it_set_reuse_port(
    tmp_path: Path, pg_url: str, processes: str
) -> None:
    with socket.socket() as other:  # another server, in the group a copy would join
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {**os.environ, "AGENT_OPS_DATABASE_URL": pg_url, "AGENT_OPS_PROCESSES": processes}
        args = ("serve", "--config", str(TEST_GRAPHS), "--host", "127.0.0.1", "--port", str(port))
        result = run_command(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"agent-ops: error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
