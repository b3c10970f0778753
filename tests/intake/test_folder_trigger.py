"""The folder trigger on a real folder, on both storage backends: claim, dedupe, recover."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from agent_ops.errors import ConfigError, ConnectorUnavailable
from agent_ops.runtime.intake import IntakeGate, IntakeTriggers, Trigger
from agent_ops.runtime.service import Runtime
from agent_ops.storage import IntakeItem, Page
from agent_ops.types import Json
from tests.intake.conftest import CrashAfterCommit, StartRuntime
from tools.folder import REASON_SUFFIX, FolderSettings, FolderWatcher

PDF = b"%PDF-1.4\n% invoice 17\n%%EOF\n"


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    """The watched folder (beside, not around, the test's SQLite file)."""
    folder = tmp_path / "scans"
    folder.mkdir()
    return folder


def watcher(root: Path, **settings: object) -> FolderWatcher:
    return FolderWatcher("scans", FolderSettings.model_validate({"path": root, **settings}))


async def poll(runtime: Runtime, source: FolderWatcher) -> int:
    return await IntakeTriggers(runtime, []).poll_once(Trigger(source, "intake_report"))


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_a_new_file_is_claimed_runs_once_and_moves_to_done(
    start_runtime: StartRuntime, scans: Path
) -> None:
    runtime = await start_runtime(workers=1)
    (scans / "inv.2024-17.pdf").write_bytes(PDF)
    assert await poll(runtime, watcher(scans)) == 1
    assert names(scans / "done") == ["inv.2024-17.pdf"]
    assert names(scans / "processing") == [] and names(scans / "failed") == []

    [item] = await runtime.storage.list_intake(source="folder:scans")
    assert item.key == hashlib.sha256(PDF).hexdigest() and item.settled_at is not None
    run = await runtime.wait_for_run(item.run_id)
    assert run.status == "success" and run.output is not None
    assert run.output["report"]["documents"] == [
        {"filename": "inv.2024-17.pdf", "media_type": "application/pdf", "size": len(PDF)}
    ]
    assert run.output["report"]["kind"] == "folder"
    assert await poll(runtime, watcher(scans)) == 0  # nothing new


async def test_a_file_with_known_content_goes_to_failed_with_the_reason(
    start_runtime: StartRuntime, scans: Path
) -> None:
    runtime = await start_runtime()
    (scans / "inv.2024-17.pdf").write_bytes(PDF)
    assert await poll(runtime, watcher(scans)) == 1
    (scans / "inv.2024-17-again.pdf").write_bytes(PDF)  # same bytes, other name
    (scans / "inv.2024-17.pdf").write_bytes(PDF)  # same bytes, same name
    assert await poll(runtime, watcher(scans)) == 0
    [item] = await runtime.storage.list_intake(source="folder:scans")
    failed = scans / "failed"
    assert "inv.2024-17-again.pdf" in names(failed)
    reason = (failed / ("inv.2024-17-again.pdf" + REASON_SUFFIX)).read_text()
    assert reason.startswith("duplicate: same content") and item.run_id in reason
    assert "'inv.2024-17.pdf'" in reason
    assert len([n for n in names(failed) if not n.endswith(REASON_SUFFIX)]) == 2
    assert names(scans / "done") == ["inv.2024-17.pdf"]


async def test_two_pollers_claim_each_file_once(start_runtime: StartRuntime, scans: Path) -> None:
    first, second = await start_runtime(), await start_runtime()
    for n in range(8):
        (scans / f"inv-{n}.pdf").write_bytes(PDF + str(n).encode())
    started = await asyncio.gather(poll(first, watcher(scans)), poll(second, watcher(scans)))
    assert sum(started) == 8
    assert len(await first.storage.list_intake(source="folder:scans")) == 8
    assert len(names(scans / "done")) == 8 and names(scans / "failed") == []


class CrashBeforeCommit(IntakeGate):
    async def submit(
        self, key: str, intake: Json, *, origin: str | None = None, summary: Json | None = None
    ) -> tuple[IntakeItem, bool]:
        raise SystemExit("poller killed before the ledger commit")


def age_claims(processing: Path, seconds: float) -> None:
    """Make the claims in processing/ look `seconds` old (as if their poller died then)."""
    for path in processing.iterdir():
        stamp, rest = path.name.split(".", 1)
        path.rename(processing / f"{int(stamp) - int(seconds * 1000)}.{rest}")


@pytest.mark.parametrize("gate", [CrashAfterCommit, CrashBeforeCommit])
async def test_a_file_left_in_processing_by_a_crash_is_finished_once_stale(
    start_runtime: StartRuntime, scans: Path, gate: type[IntakeGate]
) -> None:
    runtime = await start_runtime()
    (scans / "inv.2024-17.pdf").write_bytes(PDF)
    source = watcher(scans, stale_seconds=60)
    with pytest.raises(SystemExit):
        await source.poll(gate(runtime, source.name, "intake_report"))
    [claimed] = names(scans / "processing")
    assert claimed.endswith(".inv.2024-17.pdf")

    assert await poll(runtime, source) == 0  # a fresh claim may be a live peer's: left alone
    assert names(scans / "processing") == [claimed]

    age_claims(scans / "processing", 120)
    started = await poll(runtime, source)
    assert started == (1 if gate is CrashBeforeCommit else 0)
    assert names(scans / "done") == ["inv.2024-17.pdf"] and names(scans / "processing") == []
    assert names(scans / "failed") == []
    [item] = await runtime.storage.list_intake(source="folder:scans")
    assert item.settled_at is not None
    assert len(await runtime.storage.search_threads(page=Page(limit=10))) == 1


async def test_a_file_over_the_size_limit_fails_with_the_reason(
    start_runtime: StartRuntime, scans: Path
) -> None:
    runtime = await start_runtime()
    (scans / "huge.pdf").write_bytes(b"x" * 2048)
    assert await poll(runtime, watcher(scans, max_bytes=1024)) == 0
    reason = (scans / "failed" / ("huge.pdf" + REASON_SUFFIX)).read_text()
    assert "2048 bytes; the limit is 1024" in reason
    assert await runtime.storage.list_intake() == []


async def test_a_missing_folder_is_a_clear_error(start_runtime: StartRuntime, scans: Path) -> None:
    runtime = await start_runtime()
    with pytest.raises(ConnectorUnavailable, match="nowhere does not exist"):
        await poll(runtime, watcher(scans / "nowhere"))


async def test_a_trigger_naming_an_unknown_assistant_stops_start_up(
    start_runtime: StartRuntime, scans: Path
) -> None:
    with pytest.raises(ConfigError, match="trigger 'folder:scans': invalid assistant 'nope'"):
        await start_runtime(triggers=[Trigger(watcher(scans), "nope")])
