"""The embedded model server's lifetime: two agent-ops processes on one machine each run their own
on their own port, and none outlives its process (a clean stop or a SIGKILL); a server that dies
is started again by the next call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.models.local_models import LocalModels, models_fixture

pytestmark = pytest.mark.llama

ROOT = Path(__file__).parents[2]
# Generous time per attempt: this is about lifetimes, and two cores under other load are slow.
CONFIG = {
    "roles": {"respond": {"prompt": "respond", "timeout_seconds": 300}},
    "providers": {"local:smollm2": {"max_tokens": 8, "temperature": 0.0}},
}

# One agent-ops process: ask the local model, print what it used, then stop cleanly or wait to
# be killed.
CALLER = textwrap.dedent(
    f"""
    import asyncio, json, sys
    from pathlib import Path
    from agent_ops.models import MemoryDecisions, Models, ModelsConfig
    from agent_ops.settings import Settings

    async def main() -> None:
        config = ModelsConfig.model_validate({CONFIG!r})
        models = Models(config, Settings(prompts_dir=Path({str(ROOT / "prompts")!r})), MemoryDecisions())
        answer = await models.role("respond").ainvoke(sys.argv[1])
        server = models.local_server("smollm2")
        url = await server.base_url()
        print(json.dumps({{"answer": answer.text, "pid": server.pid, "url": url}}), flush=True)
        if sys.argv[2] == "stop":
            await models.aclose()
        else:
            await asyncio.to_thread(sys.stdin.read)  # until the test kills this process

    asyncio.run(main())
    """
)


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], seconds: float = 20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := [p for p in pids if running(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


def test_two_processes_ask_the_local_model_at_once_and_leave_no_server_behind() -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    callers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", CALLER, question, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for mode, question in (("stop", "Say hello."), ("kill", "Name a colour."))
    }
    try:
        reports = {}
        for mode, caller in callers.items():
            assert caller.stdout is not None
            line = caller.stdout.readline()
            assert line, f"caller {mode} printed nothing: {caller.communicate()[1][-2000:]}"
            reports[mode] = json.loads(line)
        assert callers["stop"].wait(60) == 0
        callers["kill"].send_signal(signal.SIGKILL)
        callers["kill"].wait(60)
    finally:
        for caller in callers.values():
            if caller.poll() is None:
                caller.kill()
                caller.wait()

    assert all(r["answer"].strip() for r in reports.values())
    assert reports["stop"]["url"] != reports["kill"]["url"], "each process has its own port"
    servers = [r["pid"] for r in reports.values()]
    assert len(set(servers)) == 2
    assert wait_gone(servers) == [], "a local model server outlived its agent-ops process"


local = models_fixture(CONFIG)


async def test_a_local_server_that_died_is_started_again_by_the_next_call(
    local: LocalModels,
) -> None:
    server = local.server
    await local.models.role("respond").ainvoke("Say hello.")
    first = server.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)

    answer = await local.models.role("respond").ainvoke("Say hello.")

    assert answer.text.strip()
    assert server.pid not in (None, first)
    # Asked before asyncio reaped the dead server, the old port refuses once and the retry
    # starts a new server; asked after, the call starts it at once.
    assert local.sink.decisions[0].error is None and local.sink.decisions[-1].error is None, [
        (d.error, d.latency_ms) for d in local.sink.decisions
    ]
    assert all("Connection" in (d.error or "") for d in local.sink.decisions[1:-1])
