"""Triggers declared in a file are reconciled into the store at start-up, by several processes
at once, and a wrong declaration stops start-up naming the entry and the field."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from agent_ops.triggers import TriggerService
from agent_ops.triggers.declared import load_declared, reconcile
from tests.refusals import refusal
from tests.triggers.conftest import GRAPHS, StartRuntime

DECLARED = """
triggers:
  - name: morning-report
    kind: cron
    assistant_id: collector
    schedule: "0 8 * * *"
    timezone: Asia/Hong_Kong
  - name: shop-orders
    kind: webhook
    assistant_id: collector
    business_key: "order:{$.payload.id}"
"""


async def test_declared_triggers_are_created_once_then_brought_to_their_declaration(
    start_runtime: StartRuntime, tmp_path: Path
) -> None:
    path = tmp_path / "triggers.yaml"
    path.write_text(DECLARED)
    processes = [TriggerService(await start_runtime()) for _ in range(3)]

    await asyncio.gather(*(reconcile(p, load_declared(path)) for p in processes))
    first = {t.name: t for t in await processes[0].search()}
    path.write_text(DECLARED.replace('"0 8 * * *"', '"30 9 * * 1-5"'))
    await reconcile(processes[1], load_declared(path))
    after = {t.name: t for t in await processes[0].search()}

    assert sorted(first) == ["morning-report", "shop-orders"]
    assert first["morning-report"].spec["schedule"] == "0 8 * * *"
    assert after["morning-report"].trigger_id == first["morning-report"].trigger_id
    assert after["morning-report"].spec["schedule"] == "30 9 * * 1-5"
    assert after["shop-orders"].secret == first["shop-orders"].secret  # kept across restarts


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("triggers:\n  - {name: a, kind: cron, assistant_id: collector}", "schedule is required"),
        (
            "triggers:\n  - {name: a, kind: cron, assistant_id: collector, schedule: 'x y'}",
            "triggers[0]: schedule: ",
        ),
        ("triggers:\n  - {name: a, kind: pager, assistant_id: collector}", "triggers[0]: kind"),
        ("jobs: []", "expected one key, `triggers`"),
    ],
)
def test_a_wrong_declaration_is_a_config_error_naming_it(
    tmp_path: Path, text: str, named: str
) -> None:
    path = tmp_path / "triggers.yaml"
    assert named in refusal(path, text, load_declared, match="triggers config")


def test_serve_stops_at_start_up_on_an_unknown_assistant(tmp_path: Path) -> None:
    path = tmp_path / "triggers.yaml"
    path.write_text(
        DECLARED.replace(
            "assistant_id: collector\n    schedule", "assistant_id: nope\n    schedule"
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "agent_ops", "serve", "--config", str(GRAPHS), "--port", "0"],
        env={
            "PATH": "/usr/bin:/bin",
            "AGENT_OPS_DATABASE_URL": f"sqlite:///{tmp_path}/a.db",
            "AGENT_OPS_TRIGGERS_CONFIG": str(path),
        },
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "declared trigger 'morning-report': assistant_id:" in result.stderr
