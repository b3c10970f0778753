"""Crons in storage: the `Storage` part written once above both backends (each method one
transaction of the backend's `crons` module function of that name, or of `rows` for search
and count).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from agent_ops.storage import _records as rec
from agent_ops.storage._base import Base
from agent_ops.storage._requests import CronChanges, NewCron
from agent_ops.storage._sql import Where
from agent_ops.storage.queries import ANY_CRON, FIRST_PAGE, CronFilter, Page
from agent_ops.storage.records import Cron

__all__ = ["Crons"]


class Crons(Base):
    """Crons: schedules that queue runs, each due firing claimed by one caller."""

    def _cron_where(self, filter: CronFilter) -> Where:
        where = self._clause().equals("assistant_id", filter.assistant_id)
        where = where.equals("thread_id", filter.thread_id).equals("enabled", filter.enabled)
        return where.equals("tenant_id", filter.tenant_id).contains("metadata", filter.metadata)

    async def create_cron(self, new: NewCron) -> Cron:
        return await self._tx(self._sql.crons.create_cron, new)

    async def get_cron(self, cron_id: str) -> Cron:
        return await self._tx(self._sql.crons.get_cron, cron_id)

    async def update_cron(self, cron_id: str, changes: CronChanges) -> Cron:
        return await self._tx(self._sql.crons.update_cron, cron_id, changes)

    async def delete_cron(self, cron_id: str) -> None:
        await self._tx(self._sql.crons.delete_cron, cron_id)

    async def search_crons(
        self, filter: CronFilter = ANY_CRON, page: Page = FIRST_PAGE
    ) -> list[Cron]:
        where = self._cron_where(filter)
        return self._read(rec.cron, await self._tx(self._sql.rows.search, "crons", where, page))

    async def count_crons(self, filter: CronFilter = ANY_CRON) -> int:
        return await self._tx(self._sql.rows.count, "crons", self._cron_where(filter))

    async def claim_due_crons(
        self, *, now: datetime, next_run: Callable[[Cron], datetime | None]
    ) -> list[Cron]:
        """Advance every enabled cron due at `now` to `next_run(cron)` (None disables it) in one
        transaction and return them as they were, so each due firing is returned to exactly
        one caller across all processes."""
        return await self._tx(self._sql.crons.claim_due_crons, now, next_run)
