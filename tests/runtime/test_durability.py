"""Durable execution through real processes: kills, races, leases and graceful shutdown."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client

from tests.servers import AgentOpsProcess

pytestmark = pytest.mark.slow


def _count(markers: Path, name: str) -> int:
    path = markers / name
    return len(path.read_text()) if path.exists() else 0


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _steps_run(client: Any, markers: Path, sleep: float) -> tuple[str, str]:
    thread = client.threads.create()
    run = client.runs.create(
        thread["thread_id"],
        "steps",
        input={"log": []},
        config={"configurable": {"marker_dir": str(markers), "sleep": sleep}},
    )
    return thread["thread_id"], run["run_id"]


def _in_second_step(client: Any, markers: Path, thread_id: str) -> None:
    """Wait until the run works on its second step with the first one's checkpoint stored
    (checkpoints are written asynchronously, durability "async", while the next step works)."""
    _wait_for(lambda: _count(markers, "second-started") == 1, what="the second step to start")
    _wait_for(
        lambda: client.threads.get_state(thread_id)["values"].get("log") == ["first"],
        what="the first step's checkpoint",
    )


def _run_in_second_step(
    processes: Callable[..., AgentOpsProcess],
    markers: Path,
    *,
    sleep: float,
    checkpointed: bool = False,
    **env: str,
) -> tuple[AgentOpsProcess, Any, str, str]:
    """Start a server with `env` and a steps run on it; return once the run works on its second
    step (and, when `checkpointed`, the first step's checkpoint is stored): the server, its
    client, the thread and the run."""
    server = processes(**env)
    client = get_sync_client(url=server.url)
    thread_id, run_id = _steps_run(client, markers, sleep=sleep)
    if checkpointed:
        _in_second_step(client, markers, thread_id)
    else:
        _wait_for(lambda: _count(markers, "second-started") == 1, what="the second step to start")
    return server, client, thread_id, run_id


def _taken_over(
    processes: Callable[..., AgentOpsProcess],
    thread_id: str,
    run_id: str,
    status: str,
    *,
    what: str,
    **env: str,
) -> Any:
    """Start another server with `env` on the same database, as after a crash or a restart;
    return its client once it has brought the run to `status`."""
    other = processes(**env)
    rescuer = get_sync_client(url=other.url)
    _wait_for(lambda: rescuer.runs.get(thread_id, run_id)["status"] == status, what=what)
    return rescuer


def _two_workers(processes: Callable[..., AgentOpsProcess], database_url: str) -> Any:
    """Start a server and another process that executes runs (`worker` on PostgreSQL, `serve`
    on SQLite), both claiming often; return the server's client."""
    server = processes()
    processes(
        "worker" if database_url.startswith("postgres") else "serve", AGENT_OPS_POLL_SECONDS="0.02"
    )
    return get_sync_client(url=server.url)


def test_killed_worker_run_resumes_from_last_checkpoint_on_another_worker(
    processes: Callable[..., AgentOpsProcess], markers: Path, database_url: str
) -> None:
    first, _, thread_id, run_id = _run_in_second_step(
        processes, markers, sleep=60, checkpointed=True
    )
    first.kill()

    rescuer = _taken_over(
        processes, thread_id, run_id, "success", what="the run to finish on the second worker"
    )

    run = rescuer.runs.get(thread_id, run_id)
    assert run["attempt"] == 2
    assert _count(markers, "first") == 1, "the completed first step must not run again"
    assert _count(markers, "second-started") == 2
    assert _count(markers, "second-done") == 1
    state = rescuer.threads.get_state(thread_id)
    assert state["values"]["log"] == ["first", "second"]
    assert rescuer.threads.get(thread_id)["status"] == "idle"


def test_runs_raced_by_two_workers_are_each_executed_once(
    processes: Callable[..., AgentOpsProcess], markers: Path, database_url: str
) -> None:
    client = _two_workers(processes, database_url)
    runs = []
    for i in range(30):
        folder = markers / f"run{i}"
        folder.mkdir()
        runs.append(_steps_run(client, folder, sleep=0.05))
    for thread_id, run_id in runs:
        client.runs.join(thread_id, run_id)
    for i, (thread_id, run_id) in enumerate(runs):
        run = client.runs.get(thread_id, run_id)
        assert run["status"] == "success"
        assert run["attempt"] == 1
        folder = markers / f"run{i}"
        assert (_count(folder, "first"), _count(folder, "second-done")) == (1, 1)


def test_long_step_with_live_heartbeat_is_never_taken_by_another_worker(
    processes: Callable[..., AgentOpsProcess], markers: Path, database_url: str
) -> None:
    client = _two_workers(processes, database_url)
    thread_id, run_id = _steps_run(client, markers, sleep=3.0)  # 3 leases long
    client.runs.join(thread_id, run_id)
    run = client.runs.get(thread_id, run_id)
    assert run["status"] == "success"
    assert run["attempt"] == 1
    assert _count(markers, "second-started") == 1


def test_graceful_shutdown_requeues_in_flight_run_without_counting_the_attempt(
    processes: Callable[..., AgentOpsProcess], markers: Path, database_url: str
) -> None:
    first, _, thread_id, run_id = _run_in_second_step(
        processes, markers, sleep=60, AGENT_OPS_SHUTDOWN_GRACE_SECONDS="0.3"
    )
    assert first.terminate(timeout=30) == 0

    rescuer = _taken_over(
        processes, thread_id, run_id, "success", what="the re-queued run to finish"
    )
    run = rescuer.runs.get(thread_id, run_id)
    assert run["attempt"] == 1, "a run handed back at shutdown keeps its attempt budget"
    assert _count(markers, "first") == 1


def test_graceful_shutdown_lets_a_short_run_finish(
    processes: Callable[..., AgentOpsProcess], markers: Path
) -> None:
    server, *_ = _run_in_second_step(
        processes, markers, sleep=1.0, AGENT_OPS_SHUTDOWN_GRACE_SECONDS="20"
    )
    assert server.terminate(timeout=30) == 0
    assert _count(markers, "second-done") == 1


def test_abandoned_run_ends_in_error_after_max_attempts(
    processes: Callable[..., AgentOpsProcess], markers: Path
) -> None:
    first, _, thread_id, run_id = _run_in_second_step(
        processes, markers, sleep=60, AGENT_OPS_MAX_ATTEMPTS="1"
    )
    first.kill()

    rescuer = _taken_over(
        processes,
        thread_id,
        run_id,
        "error",
        what="the abandoned run to be given up",
        AGENT_OPS_MAX_ATTEMPTS="1",
    )
    run = rescuer.runs.get(thread_id, run_id)
    assert "gave up after 1 attempts" in run["error"]
    assert _count(markers, "second-started") == 1, "an exhausted run is not executed again"
    assert rescuer.threads.get(thread_id)["status"] == "error"


def test_restarted_server_takes_back_its_dead_predecessors_runs_without_waiting_for_the_lease(
    processes: Callable[..., AgentOpsProcess], markers: Path
) -> None:
    # A lease far longer than the test may wait: only knowing the holder is dead can free it.
    slow_lease = {"AGENT_OPS_LEASE_SECONDS": "300", "AGENT_OPS_HEARTBEAT_SECONDS": "1"}
    first, _, thread_id, run_id = _run_in_second_step(
        processes, markers, sleep=600, checkpointed=True, **slow_lease
    )
    first.kill()

    restarted = processes(**slow_lease)
    rescuer = get_sync_client(url=restarted.url)
    taken_back = time.monotonic()
    _wait_for(
        lambda: rescuer.runs.get(thread_id, run_id)["status"] == "success",
        timeout=60,
        what="the restarted server to take the run back before its 300 s lease lapses",
    )
    assert time.monotonic() - taken_back < 60
    assert rescuer.runs.get(thread_id, run_id)["attempt"] == 2
    assert _count(markers, "first") == 1
    assert "taking back 1 runs from 1 dead workers of this machine" in restarted.log()
