"""Assistants, threads, crons and store items: the `Storage` methods of the named resources the
API creates and searches, written once above both backends.

Each method fills in its defaults, then runs one transaction of the backend's SQL function of
the same name (`sqlite/<concept>.py` or `postgres/<concept>.py`); the backend's `_tx` runs it
and hands the wake-ups it raised to listeners once it has committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._records import Columns, Row
from agent_ops.storage._requests import (
    AssistantChanges,
    CronChanges,
    Namespaces,
    NewAssistant,
    NewCron,
    Page,
)
from agent_ops.storage._sql import Modules, Where
from agent_ops.storage.records import (
    Assistant,
    Cron,
    StoreItem,
    Thread,
)
from agent_ops.types import (
    Json,
    OnConflictBehavior,
    SortOrder,
    ThreadStatus,
)

R = TypeVar("R")


class Resources:
    """Everything of `Storage` but its connection: a backend names its modules and `_tx`."""

    _saver: BaseCheckpointSaver[str] | None = None
    _sql: Modules
    """The backend's SQL, one module per concept (`sqlite/` and `postgres/` hold the same)."""

    @property
    def checkpointer(self) -> BaseCheckpointSaver[str]:
        """The official LangGraph checkpointer, on the same database."""
        if self._saver is None:
            raise _policy.not_open()
        return self._saver

    async def _tx(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run `fn(tx, *args)` as one transaction and deliver its wake-ups after commit."""
        raise NotImplementedError

    def _read(self, read: Callable[[Row, Columns], R], rows: list[Row]) -> list[R]:
        """Records from rows read in the backend's dialect."""
        columns: Columns = self._sql.rows.COLUMNS
        return [read(r, columns) for r in rows]

    def _clause(self) -> Where:
        """An empty WHERE clause in the backend's dialect."""
        where: Where = self._sql.rows.Where()
        return where

    def _assistant_filter(
        self, graph_id: str | None, name: str | None, metadata: Json | None
    ) -> Where:
        where = self._clause().equals("graph_id", graph_id).substring("name", name)
        return where.contains("metadata", metadata)

    def _thread_filter(
        self, metadata: Json | None, values: Json | None, status: ThreadStatus | None
    ) -> Where:
        where = self._clause().equals("status", status).contains("metadata", metadata)
        return where.contains('"values"', values)

    def _cron_filter(self, assistant_id: str | None, thread_id: str | None) -> Where:
        return self._clause().equals("assistant_id", assistant_id).equals("thread_id", thread_id)

    # -- assistants -----------------------------------------------------------------------------
    async def create_assistant(
        self,
        *,
        assistant_id: str,
        graph_id: str,
        name: str,
        description: str | None = None,
        config: Json | None = None,
        context: Json | None = None,
        metadata: Json | None = None,
        if_exists: OnConflictBehavior = "raise",
    ) -> Assistant:
        new = NewAssistant(
            assistant_id, graph_id, name, description, config or {}, context or {}, metadata or {}
        )
        created: Assistant = await self._tx(self._sql.assistants.create_assistant, new, if_exists)
        return created

    async def get_assistant(self, assistant_id: str) -> Assistant:
        found: Assistant = await self._tx(self._sql.assistants.get_assistant, assistant_id)
        return found

    async def update_assistant(
        self,
        assistant_id: str,
        *,
        graph_id: str | None = None,
        name: str | None = None,
        description: str | None = None,
        config: Json | None = None,
        context: Json | None = None,
        metadata: Json | None = None,
    ) -> Assistant:
        changes = AssistantChanges(graph_id, name, description, config, context, metadata)
        updated: Assistant = await self._tx(
            self._sql.assistants.update_assistant, assistant_id, changes
        )
        return updated

    async def delete_assistant(self, assistant_id: str) -> None:
        await self._tx(self._sql.assistants.delete_assistant, assistant_id)

    async def search_assistants(
        self,
        *,
        graph_id: str | None = None,
        name: str | None = None,
        metadata: Json | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
    ) -> list[Assistant]:
        where = self._assistant_filter(graph_id, name, metadata)
        page = Page(limit, offset, sort_by, sort_order)
        return self._read(
            rec.assistant, await self._tx(self._sql.rows.search, "assistants", where, page)
        )

    async def count_assistants(
        self, *, graph_id: str | None = None, name: str | None = None, metadata: Json | None = None
    ) -> int:
        where = self._assistant_filter(graph_id, name, metadata)
        counted: int = await self._tx(self._sql.rows.count, "assistants", where)
        return counted

    async def list_assistant_versions(
        self, assistant_id: str, *, metadata: Json | None = None, limit: int = 10, offset: int = 0
    ) -> list[Assistant]:
        where = self._clause().equals("assistant_id", assistant_id).contains("metadata", metadata)
        versions: list[Assistant] = await self._tx(
            self._sql.assistants.list_assistant_versions, assistant_id, where, Page(limit, offset)
        )
        return versions

    async def set_assistant_version(self, assistant_id: str, version: int) -> Assistant:
        current: Assistant = await self._tx(
            self._sql.assistants.set_assistant_version, assistant_id, version
        )
        return current

    # -- threads --------------------------------------------------------------------------------
    async def create_thread(
        self,
        *,
        thread_id: str,
        metadata: Json | None = None,
        if_exists: OnConflictBehavior = "raise",
    ) -> Thread:
        created: Thread = await self._tx(
            self._sql.threads.create_thread, thread_id, metadata or {}, if_exists
        )
        return created

    async def get_thread(self, thread_id: str) -> Thread:
        found: Thread = await self._tx(self._sql.threads.get_thread, thread_id)
        return found

    async def update_thread(self, thread_id: str, *, metadata: Json) -> Thread:
        updated: Thread = await self._tx(self._sql.threads.update_thread, thread_id, metadata)
        return updated

    async def delete_thread(self, thread_id: str) -> None:
        await self._tx(self._sql.threads.delete_thread, thread_id)

    async def copy_thread(self, thread_id: str, *, new_thread_id: str) -> Thread:
        copied: Thread = await self._tx(self._sql.threads.copy_thread, thread_id, new_thread_id)
        return copied

    async def search_threads(
        self,
        *,
        ids: Sequence[str] | None = None,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
    ) -> list[Thread]:
        where = self._thread_filter(metadata, values, status).one_of("thread_id", ids)
        page = Page(limit, offset, sort_by, sort_order)
        return self._read(rec.thread, await self._tx(self._sql.rows.search, "threads", where, page))

    async def count_threads(
        self,
        *,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
    ) -> int:
        where = self._thread_filter(metadata, values, status)
        counted: int = await self._tx(self._sql.rows.count, "threads", where)
        return counted

    async def set_thread_state(
        self,
        thread_id: str,
        *,
        values: Json | None,
        interrupts: Json,
        status: ThreadStatus | None = None,
    ) -> Thread:
        updated: Thread = await self._tx(
            self._sql.threads.set_thread_state, thread_id, values, interrupts, status
        )
        return updated

    # -- crons ----------------------------------------------------------------------------------
    async def create_cron(
        self,
        *,
        cron_id: str,
        assistant_id: str,
        thread_id: str | None,
        schedule: str,
        payload: Json,
        metadata: Json | None,
        next_run_date: datetime,
        end_time: datetime | None,
        enabled: bool = True,
    ) -> Cron:
        new = NewCron(
            cron_id,
            assistant_id,
            thread_id,
            schedule,
            payload,
            metadata or {},
            next_run_date,
            end_time,
            enabled,
        )
        created: Cron = await self._tx(self._sql.crons.create_cron, new)
        return created

    async def get_cron(self, cron_id: str) -> Cron:
        found: Cron = await self._tx(self._sql.crons.get_cron, cron_id)
        return found

    async def update_cron(
        self,
        cron_id: str,
        *,
        schedule: str | None = None,
        payload: Json | None = None,
        metadata: Json | None = None,
        next_run_date: datetime | None = None,
        end_time: datetime | None = None,
        enabled: bool | None = None,
    ) -> Cron:
        given = {
            "schedule": schedule,
            "payload": payload,
            "next_run_date": next_run_date,
            "end_time": end_time,
            "enabled": enabled,
        }
        changes = CronChanges(
            columns={column: value for column, value in given.items() if value is not None},
            metadata=metadata or {},
        )
        updated: Cron = await self._tx(self._sql.crons.update_cron, cron_id, changes)
        return updated

    async def delete_cron(self, cron_id: str) -> None:
        await self._tx(self._sql.crons.delete_cron, cron_id)

    async def search_crons(
        self,
        *,
        assistant_id: str | None = None,
        thread_id: str | None = None,
        enabled: bool | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
    ) -> list[Cron]:
        where = self._cron_filter(assistant_id, thread_id).equals("enabled", enabled)
        page = Page(limit, offset, sort_by, sort_order)
        return self._read(rec.cron, await self._tx(self._sql.rows.search, "crons", where, page))

    async def count_crons(
        self, *, assistant_id: str | None = None, thread_id: str | None = None
    ) -> int:
        where = self._cron_filter(assistant_id, thread_id)
        counted: int = await self._tx(self._sql.rows.count, "crons", where)
        return counted

    async def claim_due_crons(
        self, *, now: datetime, next_run: Callable[[Cron], datetime | None]
    ) -> list[Cron]:
        due: list[Cron] = await self._tx(self._sql.crons.claim_due_crons, now, next_run)
        return due

    # -- store ----------------------------------------------------------------------------------
    async def put_item(
        self,
        namespace: Sequence[str],
        key: str,
        value: Json,
        *,
        ttl_seconds: float | None = None,
        vectors: bytes | None = None,
    ) -> None:
        await self._tx(self._sql.items.put_item, namespace, key, value, ttl_seconds, vectors)

    async def get_item(
        self, namespace: Sequence[str], key: str, *, refresh_ttl: bool = True
    ) -> StoreItem | None:
        found: StoreItem | None = await self._tx(
            self._sql.items.get_item, namespace, key, refresh_ttl
        )
        return found

    async def delete_item(self, namespace: Sequence[str], key: str) -> None:
        await self._tx(self._sql.items.delete_item, namespace, key)

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[StoreItem]:
        found: list[StoreItem] = await self._tx(
            self._sql.items.search_items, namespace_prefix, filter, limit, offset
        )
        return found

    async def search_vectors(
        self, namespace_prefix: Sequence[str], *, filter: Json | None = None
    ) -> list[tuple[StoreItem, bytes]]:
        found: list[tuple[StoreItem, bytes]] = await self._tx(
            self._sql.items.search_vectors, namespace_prefix, filter
        )
        return found

    async def list_namespaces(
        self,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        query = Namespaces(prefix, suffix, max_depth, limit, offset)
        found: list[tuple[str, ...]] = await self._tx(self._sql.items.list_namespaces, query)
        return found
