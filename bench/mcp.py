"""`python -m bench.mcp`: the latency of one MCP tool call, stdio and streamable HTTP, with a
session per call (what langchain-mcp-adapters does without a session, and what the connector
did before it kept sessions) and over the connector's kept session.

The server is the test suite's FastMCP server (tests/tools/mcp_server.py); the tool is `add`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_mcp_adapters.tools import load_mcp_tools

from bench.report import RESULTS
from bench.servers import REPO_ROOT, free_port
from tools.mcp import MCPConfig, MCPServer, MCPSessions, mcp_tools

SERVER = [sys.executable, "-m", "tests.tools.mcp_server"]
LOG = RESULTS.parent / "logs" / "mcp-http.log"


@contextmanager
def _http_server(notes: Path) -> Iterator[str]:
    port = free_port()
    env = {"MCP_NOTES_FILE": str(notes), "PATH": "/usr/bin:/bin"}
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("wb") as log:  # FastMCP logs each per-call session's end as an error
        process = subprocess.Popen(
            [*SERVER, "http", "--port", str(port)], cwd=REPO_ROOT, env=env, stderr=log
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the MCP test server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _timed(call: Callable[[], Awaitable[Any]], calls: int) -> list[float]:
    await call()  # warm-up: the kept session opens here
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _measure(server: MCPServer, calls: int) -> dict[str, list[float]]:
    per_call = await load_mcp_tools(None, connection=server.connection(), server_name="bench")
    add_per_call = next(tool for tool in per_call if tool.name == "add")
    async with MCPSessions() as sessions:
        tools = await mcp_tools(MCPConfig(servers={"bench": server}), sessions)
        add_kept = next(tool for tool in tools if tool.name == "bench_add")
        return {
            "session per call": await _timed(lambda: add_per_call.ainvoke({"a": 1, "b": 2}), calls),
            "kept session": await _timed(lambda: add_kept.ainvoke({"a": 1, "b": 2}), calls),
        }


async def _main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        notes = Path(scratch) / "notes.txt"
        stdio = MCPServer.model_validate(
            {
                "transport": "stdio",
                "command": sys.executable,
                "args": ["-m", "tests.tools.mcp_server", "stdio"],
                "cwd": str(REPO_ROOT),
                "env": {"MCP_NOTES_FILE": str(notes)},
                "allowed_tools": ["add"],
            }
        )
        results = {"stdio": await _measure(stdio, calls)}
        with _http_server(notes) as url:
            http = MCPServer.model_validate(
                {"transport": "http", "url": url, "allowed_tools": ["add"]}
            )
            results["http"] = await _measure(http, calls)
    print(f"{'transport':<10} {'mode':<18} {'median ms':>10} {'p90 ms':>8} {'calls':>6}")
    for transport, modes in results.items():
        for mode, times in modes.items():
            p90 = statistics.quantiles(times, n=10)[-1]
            print(
                f"{transport:<10} {mode:<18} {statistics.median(times):>10.1f} {p90:>8.1f} "
                f"{len(times):>6}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="calls per transport and mode")
    asyncio.run(_main(parser.parse_args().calls))


if __name__ == "__main__":
    main()
