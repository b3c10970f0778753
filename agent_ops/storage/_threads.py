"""Threads in storage: the `Storage` part written once above both backends (each method one
transaction of the backend's `threads` module function of that name, or of `rows` for search
and count).
"""

from __future__ import annotations

from agent_ops.storage import _records as rec
from agent_ops.storage._base import Base
from agent_ops.storage._requests import NewThread
from agent_ops.storage._sql import Where
from agent_ops.storage.queries import ANY_THREAD, FIRST_PAGE, Page, ThreadFilter
from agent_ops.storage.records import AuditEntry, Thread
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json, OnConflictBehavior, ThreadStatus

__all__ = ["Threads"]


class Threads(Base):
    """Threads: a conversation's state and status, outside any one run."""

    def _thread_where(self, filter: ThreadFilter) -> Where:
        where = self._clause().equals("status", filter.status).contains("metadata", filter.metadata)
        where = where.contains('"values"', filter.values).equals("tenant_id", filter.tenant_id)
        return where.one_of("thread_id", filter.ids)

    async def create_thread(
        self,
        *,
        thread_id: str,
        metadata: Json | None = None,
        if_exists: OnConflictBehavior = "raise",
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
        audit: AuditEntry | None = None,
    ) -> Thread:
        """Insert an idle thread; on an existing id (of any tenant) raise Conflict or return it.
        `audit` is appended in the same transaction when the thread is inserted."""
        new = NewThread(thread_id, metadata or {}, tenant_id, owner)
        return await self._tx(self._sql.threads.create_thread, new, if_exists, audit)

    async def get_thread(self, thread_id: str) -> Thread:
        return await self._tx(self._sql.threads.get_thread, thread_id)

    async def update_thread(self, thread_id: str, *, metadata: Json) -> Thread:
        """Merge `metadata` into the thread's metadata."""
        return await self._tx(self._sql.threads.update_thread, thread_id, metadata)

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread with its runs, their events and its checkpoints, in one
        transaction (the official checkpointer's tables are in the same database)."""
        await self._tx(self._sql.threads.delete_thread, thread_id)

    async def copy_thread(self, thread_id: str, *, new_thread_id: str) -> Thread:
        """Copy the thread (metadata, values, interrupts; a busy one's copy is idle) with every
        checkpoint and pending write to `new_thread_id`, in one transaction."""
        return await self._tx(self._sql.threads.copy_thread, thread_id, new_thread_id)

    async def search_threads(
        self, filter: ThreadFilter = ANY_THREAD, page: Page = FIRST_PAGE
    ) -> list[Thread]:
        where = self._thread_where(filter)
        return self._read(rec.thread, await self._tx(self._sql.rows.search, "threads", where, page))

    async def count_threads(self, filter: ThreadFilter = ANY_THREAD) -> int:
        return await self._tx(self._sql.rows.count, "threads", self._thread_where(filter))

    async def set_thread_state(
        self,
        thread_id: str,
        *,
        values: Json | None,
        interrupts: Json,
        status: ThreadStatus | None = None,
    ) -> Thread:
        """Record the thread's latest values and interrupts after a state update outside a run.

        `status=None` recomputes it: busy with a run in flight, interrupted with interrupts,
        idle otherwise.
        """
        return await self._tx(
            self._sql.threads.set_thread_state, thread_id, values, interrupts, status
        )
