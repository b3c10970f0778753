"""Assistants, threads, crons and store items: the `Storage` methods of the named resources the
API creates and searches, written once above both backends.

Each method fills in its defaults, then runs one transaction of the backend's SQL function of
the same name (`sqlite/<concept>.py` or `postgres/<concept>.py`); the backend's `_tx` runs it
and hands the wake-ups it raised to listeners once it has committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any

from agent_ops.storage._requests import (
    AssistantChanges,
    CronChanges,
    NewAssistant,
    NewCron,
    Page,
)
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


class Resources:
    """Everything of `Storage` but its connection: a backend names its modules and `_tx`."""

    # The backend's SQL modules; `sqlite/` and `postgres/` hold the same names.
    _assistants: ModuleType
    _threads: ModuleType
    _runs: ModuleType
    _events: ModuleType
    _items: ModuleType
    _crons: ModuleType
    _workers: ModuleType
    _decisions: ModuleType
    _intake: ModuleType

    async def _tx(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run `fn(tx, *args)` as one transaction and deliver its wake-ups after commit."""
        raise NotImplementedError

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
        created: Assistant = await self._tx(self._assistants.create_assistant, new, if_exists)
        return created

    async def get_assistant(self, assistant_id: str) -> Assistant:
        found: Assistant = await self._tx(self._assistants.get_assistant, assistant_id)
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
            self._assistants.update_assistant, assistant_id, changes
        )
        return updated

    async def delete_assistant(self, assistant_id: str) -> None:
        await self._tx(self._assistants.delete_assistant, assistant_id)

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
        where = self._assistants.assistant_filter(graph_id, name, metadata)
        page = Page(limit, offset, sort_by, sort_order)
        found: list[Assistant] = await self._tx(self._assistants.search_assistants, where, page)
        return found

    async def count_assistants(
        self, *, graph_id: str | None = None, name: str | None = None, metadata: Json | None = None
    ) -> int:
        where = self._assistants.assistant_filter(graph_id, name, metadata)
        counted: int = await self._tx(self._assistants.count_assistants, where)
        return counted

    async def list_assistant_versions(
        self, assistant_id: str, *, metadata: Json | None = None, limit: int = 10, offset: int = 0
    ) -> list[Assistant]:
        versions: list[Assistant] = await self._tx(
            self._assistants.list_assistant_versions, assistant_id, metadata, Page(limit, offset)
        )
        return versions

    async def set_assistant_version(self, assistant_id: str, version: int) -> Assistant:
        current: Assistant = await self._tx(
            self._assistants.set_assistant_version, assistant_id, version
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
            self._threads.create_thread, thread_id, metadata or {}, if_exists
        )
        return created

    async def get_thread(self, thread_id: str) -> Thread:
        found: Thread = await self._tx(self._threads.get_thread, thread_id)
        return found

    async def update_thread(self, thread_id: str, *, metadata: Json) -> Thread:
        updated: Thread = await self._tx(self._threads.update_thread, thread_id, metadata)
        return updated

    async def delete_thread(self, thread_id: str) -> None:
        await self._tx(self._threads.delete_thread, thread_id)

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
        where = self._threads.thread_filter(ids, metadata, values, status)
        page = Page(limit, offset, sort_by, sort_order)
        found: list[Thread] = await self._tx(self._threads.search_threads, where, page)
        return found

    async def count_threads(
        self,
        *,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
    ) -> int:
        where = self._threads.thread_filter(None, metadata, values, status)
        counted: int = await self._tx(self._threads.count_threads, where)
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
            self._threads.set_thread_state, thread_id, values, interrupts, status
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
        created: Cron = await self._tx(self._crons.create_cron, new)
        return created

    async def get_cron(self, cron_id: str) -> Cron:
        found: Cron = await self._tx(self._crons.get_cron, cron_id)
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
        updated: Cron = await self._tx(self._crons.update_cron, cron_id, changes)
        return updated

    async def delete_cron(self, cron_id: str) -> None:
        await self._tx(self._crons.delete_cron, cron_id)

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
        where = self._crons.cron_filter(assistant_id, thread_id, enabled)
        page = Page(limit, offset, sort_by, sort_order)
        found: list[Cron] = await self._tx(self._crons.search_crons, where, page)
        return found

    async def count_crons(
        self, *, assistant_id: str | None = None, thread_id: str | None = None
    ) -> int:
        where = self._crons.cron_filter(assistant_id, thread_id, None)
        counted: int = await self._tx(self._crons.count_crons, where)
        return counted

    async def claim_due_crons(
        self, *, now: datetime, next_run: Callable[[Cron], datetime | None]
    ) -> list[Cron]:
        due: list[Cron] = await self._tx(self._crons.claim_due_crons, now, next_run)
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
        await self._tx(self._items.put_item, namespace, key, value, ttl_seconds, vectors)

    async def get_item(
        self, namespace: Sequence[str], key: str, *, refresh_ttl: bool = True
    ) -> StoreItem | None:
        found: StoreItem | None = await self._tx(self._items.get_item, namespace, key, refresh_ttl)
        return found

    async def delete_item(self, namespace: Sequence[str], key: str) -> None:
        await self._tx(self._items.delete_item, namespace, key)

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[StoreItem]:
        found: list[StoreItem] = await self._tx(
            self._items.search_items, namespace_prefix, filter, limit, offset
        )
        return found

    async def search_vectors(
        self, namespace_prefix: Sequence[str], *, filter: Json | None = None
    ) -> list[tuple[StoreItem, bytes]]:
        found: list[tuple[StoreItem, bytes]] = await self._tx(
            self._items.search_vectors, namespace_prefix, filter
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
        found: list[tuple[str, ...]] = await self._tx(
            self._items.list_namespaces, prefix, suffix, max_depth, limit, offset
        )
        return found
