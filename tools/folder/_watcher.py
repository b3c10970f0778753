"""Folder in: each new file of a folder starts one run, its content hash the ledger key.

Layout under the watched folder: new files at the top, `processing/` for claimed ones, `done/`
and `failed/` (with a `<name>.reason.txt` beside each failed file). A poller claims a file by
renaming it into `processing/` as `<claim time ms>.<token>.<name>`; the rename is atomic, so
exactly one poller (of any process) wins each file. A claimed file is hashed and handed to the
intake gate with its token as origin: a new hash starts a run and goes to `done/`; a hash the
ledger has from another token is a duplicate and goes to `failed/` with the run it duplicates.
A file left in `processing/` by a poller that died is re-claimed (same token, new claim time)
once its claim is older than `stale_seconds`, and finished the same way: the ledger tells a
retry of its own token from a duplicate, so a crash at any point starts no second run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agent_ops.errors import ConnectorUnavailable
from agent_ops.runtime.intake import IntakeGate
from tools.intake import IntakeDocument, IntakePayload

log = logging.getLogger(__name__)

PROCESSING, DONE, FAILED = "processing", "done", "failed"
REASON_SUFFIX = ".reason.txt"
_CLAIMED = re.compile(r"^(\d+)\.([0-9a-f]{16})\.(.+)$")


class FolderSettings(BaseModel):
    """One watched folder (an entry of the `folders` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    poll_seconds: float = Field(5.0, gt=0)
    stale_seconds: float = Field(
        300.0, gt=0, description="a claim older than this is a crashed poller's; take it over"
    )
    max_bytes: int = Field(25_000_000, gt=0, description="larger files go to failed/")


@dataclass(frozen=True)
class _Claim:
    path: Path
    token: str
    name: str


class FolderWatcher:
    """The `folder:<name>` trigger."""

    def __init__(self, name: str, settings: FolderSettings) -> None:
        self.name = f"folder:{name}"
        self.settings = settings
        self.poll_seconds = settings.poll_seconds
        self.root = settings.path

    async def poll(self, gate: IntakeGate) -> int:
        started = 0
        for claim in await asyncio.to_thread(self._claim_all):
            started += await self._take_in(claim, gate)
        return started

    def _claim_all(self) -> list[_Claim]:
        """Claim stale files of crashed pollers, then new files (blocking: file system)."""
        if not self.root.is_dir():
            raise ConnectorUnavailable(
                f"watched folder {self.root} does not exist or is not a folder",
                system="folder",
                url=self.root.as_uri() if self.root.is_absolute() else str(self.root),
            )
        for sub in (PROCESSING, DONE, FAILED):
            (self.root / sub).mkdir(exist_ok=True)
        claims = [c for c in map(self._reclaim, self._stale()) if c is not None]
        return claims + [c for c in map(self._claim, self._new_files()) if c is not None]

    def _new_files(self) -> list[Path]:
        return sorted(p for p in self.root.iterdir() if p.is_file() and not p.name.startswith("."))

    def _stale(self) -> list[Path]:
        cutoff = (time.time() - self.settings.stale_seconds) * 1000
        stale = []
        for path in sorted((self.root / PROCESSING).iterdir()):
            match = _CLAIMED.match(path.name)
            if match and int(match.group(1)) < cutoff:
                stale.append(path)
        return stale

    def _claim(self, path: Path) -> _Claim | None:
        token = secrets.token_hex(8)
        return self._rename_claim(path, token, path.name)

    def _reclaim(self, path: Path) -> _Claim | None:
        match = _CLAIMED.match(path.name)
        if match is None:
            return None
        log.warning(
            "%s: taking over %s, left in processing/ by a poller that stopped", self.name, path.name
        )
        return self._rename_claim(path, match.group(2), match.group(3))

    def _rename_claim(self, path: Path, token: str, name: str) -> _Claim | None:
        target = self.root / PROCESSING / f"{int(time.time() * 1000)}.{token}.{name}"
        try:
            path.rename(target)
        except FileNotFoundError:  # another poller claimed it first
            return None
        return _Claim(target, token, name)

    async def _take_in(self, claim: _Claim, gate: IntakeGate) -> int:
        size = (await asyncio.to_thread(claim.path.stat)).st_size
        if size > self.settings.max_bytes:
            reason = f"file is {size} bytes; the limit is {self.settings.max_bytes}"
            await asyncio.to_thread(self._finish, claim, FAILED, reason)
            return 0
        data = await asyncio.to_thread(claim.path.read_bytes)
        digest = hashlib.sha256(data).hexdigest()
        media_type = mimetypes.guess_type(claim.name)[0] or "application/octet-stream"
        payload = IntakePayload(
            kind="folder",
            key=digest,
            sender=None,
            subject=claim.name,
            received_at=datetime.now(UTC),
            body=None,
            documents=[IntakeDocument.from_bytes(claim.name, media_type, data)],
        )
        item, created = await gate.submit(
            digest, payload.as_input(), origin=claim.token, summary={"filename": claim.name}
        )
        if item.origin == claim.token:  # our run (now, or before a crash)
            await asyncio.to_thread(self._finish, claim, DONE, None)
            await gate.settle(digest)
            log.info("%s: %s started run %s", self.name, claim.name, item.run_id)
            return int(created)
        original = item.summary.get("filename", "?")
        reason = (
            f"duplicate: same content (sha256 {digest}) as {original!r}, "
            f"taken in at {item.created_at.isoformat()} by run {item.run_id}"
        )
        await asyncio.to_thread(self._finish, claim, FAILED, reason)
        return 0

    def _finish(self, claim: _Claim, outcome: str, reason: str | None) -> None:
        """Move a claimed file to done/ or failed/ under its own name (suffixed on a clash);
        blocking."""
        folder = self.root / outcome
        target = folder / claim.name
        if target.exists():
            stem, dot, suffix = claim.name.rpartition(".")
            unique = f"{stem}-{claim.token}{dot}{suffix}" if stem else f"{claim.name}-{claim.token}"
            target = folder / unique
        if reason is not None:
            (folder / (target.name + REASON_SUFFIX)).write_text(reason + "\n", encoding="utf-8")
            log.warning("%s: %s moved to %s/: %s", self.name, claim.name, outcome, reason)
        try:
            os.replace(claim.path, target)
        except FileNotFoundError:  # a peer finished the same stale claim first
            log.debug("%s: %s was already finished by another poller", self.name, claim.name)
