"""Every eval test's `agent-ops eval` records into a throw-away database, never ./agent-ops.db."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _record_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_OPS_DATABASE_URL", f"sqlite:///{tmp_path / 'recorded.db'}")
