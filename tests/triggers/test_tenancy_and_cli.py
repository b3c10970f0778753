"""Triggers belong to a tenant: another tenant neither sees nor fires them, and a firing's run
and thread land in the trigger's tenant. And the `agent-ops triggers` CLI on a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent_ops.errors import NotFound
from agent_ops.governance import Identity, bind_caller
from agent_ops.runtime import GraphRegistry, Runtime
from agent_ops.settings import Settings
from agent_ops.storage import create_storage
from agent_ops.triggers import TriggerCreate, TriggerService
from tests.triggers.conftest import GRAPHS, StartRuntime


def _as(tenant: str) -> None:
    bind_caller(Identity(tenant=tenant, subject=f"key:{tenant}", role="admin", via="key"))


async def test_another_tenant_neither_sees_nor_fires_a_trigger(
    start_runtime: StartRuntime,
) -> None:
    runtime = await start_runtime()
    service = TriggerService(runtime)
    try:
        _as("acme")
        mine = await service.create(
            TriggerCreate(name="orders", kind="webhook", assistant_id="collector")
        )
        fired = await service.fire_now(mine.trigger_id, {"order": 1})
        _as("globex")
        assert await service.search() == []
        with pytest.raises(NotFound, match=f"trigger {mine.trigger_id} not found"):
            await service.get(mine.trigger_id)
        with pytest.raises(NotFound):
            await service.fire_now(mine.trigger_id, {"order": 2})
        # The same name is free in another tenant.
        await service.create(TriggerCreate(name="orders", kind="webhook", assistant_id="collector"))
    finally:
        bind_caller(None)

    assert mine.tenant_id == "acme"
    run = await runtime.storage.get_run(fired.event.run_id)
    thread = await runtime.storage.get_thread(fired.event.thread_id)
    assert (run.tenant_id, thread.tenant_id) == ("acme", "acme")
    assert len(await runtime.storage.trigger_events(mine.trigger_id)) == 1


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_ops", "triggers", *args],
        env={"AGENT_OPS_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_lists_disables_enables_and_fires(
    registry: GraphRegistry, sqlite_url: str
) -> None:
    # One backend: the commands go through the same storage calls the tests above run on both.
    settings = Settings(database_url=sqlite_url, workers=0, config=GRAPHS)
    runtime = Runtime(settings, create_storage(sqlite_url), registry)
    await runtime.start()
    try:
        trigger = await TriggerService(runtime).create(
            TriggerCreate(
                name="nightly", kind="cron", assistant_id="collector", schedule="0 2 * * *"
            )
        )
    finally:
        await runtime.stop()

    listed = _cli(sqlite_url, "list")
    disabled = _cli(sqlite_url, "disable", trigger.trigger_id, "--config", str(GRAPHS))
    fired = _cli(
        sqlite_url, "fire", trigger.trigger_id, "--config", str(GRAPHS), "--payload", '{"n": 1}'
    )
    unknown = _cli(sqlite_url, "enable", "not-an-id", "--config", str(GRAPHS))

    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["name"] == "nightly"
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout)["enabled"] is False
    assert fired.returncode == 0, fired.stderr
    run_id = json.loads(fired.stdout)["run_id"]
    assert unknown.returncode == 2
    assert "trigger_id 'not-an-id' is not a valid UUID" in unknown.stderr
    storage = create_storage(sqlite_url)
    await storage.open()
    try:
        run = await storage.get_run(run_id)
        assert run.kwargs["input"]["payload"] == {"n": 1}
    finally:
        await storage.close()
