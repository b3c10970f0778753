"""Assistants, threads, crons and store items: the `Storage` methods of the named resources the
API creates and searches, written once above both backends.

Each method fills in its defaults, then runs one transaction of the backend's SQL function of
the same name (`sqlite/<concept>.py` or `postgres/<concept>.py`); the backend's `_tx` runs it
and hands the wake-ups it raised to listeners once it has committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent_ops.errors import ConfigError
from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._cache import AssistantCache
from agent_ops.storage._records import Columns, Row
from agent_ops.storage._requests import (
    AssistantChanges,
    CronChanges,
    Namespaces,
    NewAssistant,
    NewCron,
    NewThread,
    Page,
)
from agent_ops.storage._sql import Modules, Where
from agent_ops.storage.channels import ASSISTANT_CHANGED, Listener
from agent_ops.storage.encryption import Keyring, Resealed, is_sealed
from agent_ops.storage.records import (
    Assistant,
    AuditEntry,
    Cron,
    StoreItem,
    Thread,
)
from agent_ops.types import (
    DEFAULT_OWNER,
    DEFAULT_TENANT,
    Json,
    OnConflictBehavior,
    SortOrder,
    ThreadStatus,
)

R = TypeVar("R")
_SCAN = 500
"""Items read per page when a filter is matched in Python (on sealed values)."""


def _matches(value: Json, wanted: Json | None) -> bool:
    """True if `value` holds each of `wanted`'s top-level keys with an equal JSON value, as the
    backends' SQL compares them (a bool is never equal to a number)."""
    if not wanted:
        return True
    if not isinstance(value, dict):
        return False
    return all(name in value and _same(value[name], expected) for name, expected in wanted.items())


def _same(a: Json, b: Json) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


class Base:
    """What every concept's methods stand on: the backend's SQL modules, `_tx` and the checkpointer."""

    _saver: BaseCheckpointSaver[str] | None = None
    _keyring: Keyring = Keyring()
    """The keys checkpoints and store values are sealed under (`storage.encryption`); none: plain."""
    _sql: Modules
    """The backend's SQL, one module per concept (`sqlite/` and `postgres/` hold the same)."""

    @property
    def checkpointer(self) -> BaseCheckpointSaver[str]:
        """The official LangGraph checkpointer, on the same database."""
        if self._saver is None:
            raise _policy.not_open()
        return self._saver

    def encrypt_at_rest(self, keyring: Keyring) -> None:
        """Seal checkpoints and store values under `keyring` (no key: plain); before `open`."""
        if self._saver is not None:
            raise RuntimeError("set the encryption keys before opening the storage")
        self._keyring = keyring

    def sealed_tables(self) -> list[str]:
        """The tables `reseal_batch` goes through: the checkpointer's, `store_items`, the events'."""
        return list(self._sql.sealed.TABLES)

    async def reseal_batch(
        self, table: str, *, after: tuple[Any, ...] | None = None, limit: int = 500
    ) -> Resealed:
        """Seal under the current key, in one transaction, the sealed values of up to `limit`
        rows of `table` that follow the primary key `after` (and plain store values too);
        ConfigError naming the settings for a value no key opens."""
        if not self._keyring:
            raise ConfigError("cannot re-seal: AGENT_OPS_ENCRYPTION_KEY is not set")
        done: Resealed = await self._tx(
            self._sql.sealed.reseal_batch, table, after, limit, self._keyring
        )
        return done

    async def _tx(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run `fn(tx, *args)` as one transaction and deliver its wake-ups after commit."""
        raise NotImplementedError

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(payload)` for each wake-up on `channel` (the backend's)."""
        raise NotImplementedError

    def _read(self, read: Callable[[Row, Columns], R], rows: list[Row]) -> list[R]:
        """Records from rows read in the backend's dialect."""
        columns: Columns = self._sql.rows.COLUMNS
        return [read(r, columns) for r in rows]

    def _clause(self) -> Where:
        """An empty WHERE clause in the backend's dialect."""
        where: Where = self._sql.rows.Where()
        return where


class Assistants(Base):
    """Assistants: a graph with its configuration, versioned on every change.

    Reads are kept for a few seconds per process (`_cache`): a change here drops the copy
    before it returns, one elsewhere by its ASSISTANT_CHANGED wake-up."""

    _cached: AssistantCache | None = None

    def _assistant_cache(self) -> AssistantCache:
        if self._cached is None:
            self._cached = AssistantCache()
            self.listen(ASSISTANT_CHANGED, self._cached.drop)
        return self._cached

    def _changed(self, assistant_id: str) -> None:
        """Drop the copy once a change committed (or failed): a read that began before it
        is not kept either."""
        if self._cached is not None:
            self._cached.drop(assistant_id)

    def _assistant_filter(
        self, graph_id: str | None, name: str | None, metadata: Json | None, tenant_id: str | None
    ) -> Where:
        where = self._clause().equals("graph_id", graph_id).substring("name", name)
        if tenant_id is not None:
            # The registry's default assistants (default tenant, owner system) serve every tenant.
            mark = where.placeholder
            where.add(
                f"(tenant_id = {mark} OR (tenant_id = {mark} AND owner = {mark}))",
                tenant_id,
                DEFAULT_TENANT,
                DEFAULT_OWNER,
            )
        return where.contains("metadata", metadata)

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
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> Assistant:
        """Insert version 1; on an existing id raise Conflict or return the stored one."""
        new = NewAssistant(
            assistant_id,
            graph_id,
            name,
            description,
            config or {},
            context or {},
            metadata or {},
            tenant_id,
            owner,
        )
        created: Assistant = await self._tx(self._sql.assistants.create_assistant, new, if_exists)
        return created

    async def get_assistant(self, assistant_id: str) -> Assistant:
        cache = self._assistant_cache()
        kept = cache.get(assistant_id)
        if kept is not None:
            return kept
        generation = cache.generation
        found: Assistant = await self._tx(self._sql.assistants.get_assistant, assistant_id)
        cache.put(found, generation)
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
        """Store a new version (fields not given are kept, metadata is merged) and make it latest."""
        changes = AssistantChanges(graph_id, name, description, config, context, metadata)
        try:
            updated: Assistant = await self._tx(
                self._sql.assistants.update_assistant, assistant_id, changes
            )
        finally:
            self._changed(assistant_id)
        return updated

    async def delete_assistant(self, assistant_id: str) -> None:
        try:
            await self._tx(self._sql.assistants.delete_assistant, assistant_id)
        finally:
            self._changed(assistant_id)

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
        tenant_id: str | None = None,
    ) -> list[Assistant]:
        """Filter by graph id, name substring (case-insensitive) and metadata containment; with
        `tenant_id`, that tenant's assistants and the shared ones (default tenant, owner
        system: the registry's defaults)."""
        where = self._assistant_filter(graph_id, name, metadata, tenant_id)
        page = Page(limit, offset, sort_by, sort_order)
        return self._read(
            rec.assistant, await self._tx(self._sql.rows.search, "assistants", where, page)
        )

    async def count_assistants(
        self,
        *,
        graph_id: str | None = None,
        name: str | None = None,
        metadata: Json | None = None,
        tenant_id: str | None = None,
    ) -> int:
        where = self._assistant_filter(graph_id, name, metadata, tenant_id)
        counted: int = await self._tx(self._sql.rows.count, "assistants", where)
        return counted

    async def list_assistant_versions(
        self, assistant_id: str, *, metadata: Json | None = None, limit: int = 10, offset: int = 0
    ) -> list[Assistant]:
        """Return stored versions, newest first."""
        where = self._clause().equals("assistant_id", assistant_id).contains("metadata", metadata)
        versions: list[Assistant] = await self._tx(
            self._sql.assistants.list_assistant_versions, assistant_id, where, Page(limit, offset)
        )
        return versions

    async def set_assistant_version(self, assistant_id: str, version: int) -> Assistant:
        """Make an earlier version the current one."""
        try:
            current: Assistant = await self._tx(
                self._sql.assistants.set_assistant_version, assistant_id, version
            )
        finally:
            self._changed(assistant_id)
        return current


class Threads(Base):
    """Threads: a conversation's state and status, outside any one run."""

    def _thread_filter(
        self,
        metadata: Json | None,
        values: Json | None,
        status: ThreadStatus | None,
        tenant_id: str | None,
    ) -> Where:
        where = self._clause().equals("status", status).contains("metadata", metadata)
        return where.contains('"values"', values).equals("tenant_id", tenant_id)

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
        created: Thread = await self._tx(self._sql.threads.create_thread, new, if_exists, audit)
        return created

    async def get_thread(self, thread_id: str) -> Thread:
        found: Thread = await self._tx(self._sql.threads.get_thread, thread_id)
        return found

    async def update_thread(self, thread_id: str, *, metadata: Json) -> Thread:
        """Merge `metadata` into the thread's metadata."""
        updated: Thread = await self._tx(self._sql.threads.update_thread, thread_id, metadata)
        return updated

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread with its runs, their events and its checkpoints, in one
        transaction (the official checkpointer's tables are in the same database)."""
        await self._tx(self._sql.threads.delete_thread, thread_id)

    async def copy_thread(self, thread_id: str, *, new_thread_id: str) -> Thread:
        """Copy the thread (metadata, values, interrupts; a busy one's copy is idle) with every
        checkpoint and pending write to `new_thread_id`, in one transaction."""
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
        tenant_id: str | None = None,
    ) -> list[Thread]:
        """Filter by ids, metadata and values containment (top-level keys), status and tenant."""
        where = self._thread_filter(metadata, values, status, tenant_id).one_of("thread_id", ids)
        page = Page(limit, offset, sort_by, sort_order)
        return self._read(rec.thread, await self._tx(self._sql.rows.search, "threads", where, page))

    async def count_threads(
        self,
        *,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
        tenant_id: str | None = None,
    ) -> int:
        where = self._thread_filter(metadata, values, status, tenant_id)
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
        """Record the thread's latest values and interrupts after a state update outside a run.

        `status=None` recomputes it: busy with a run in flight, interrupted with interrupts,
        idle otherwise.
        """
        updated: Thread = await self._tx(
            self._sql.threads.set_thread_state, thread_id, values, interrupts, status
        )
        return updated


class Crons(Base):
    """Crons: schedules that queue runs, each due firing claimed by one caller."""

    def _cron_filter(
        self, assistant_id: str | None, thread_id: str | None, tenant_id: str | None
    ) -> Where:
        where = self._clause().equals("assistant_id", assistant_id).equals("thread_id", thread_id)
        return where.equals("tenant_id", tenant_id)

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
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
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
            tenant_id,
            owner,
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
        tenant_id: str | None = None,
    ) -> list[Cron]:
        where = self._cron_filter(assistant_id, thread_id, tenant_id).equals("enabled", enabled)
        page = Page(limit, offset, sort_by, sort_order)
        return self._read(rec.cron, await self._tx(self._sql.rows.search, "crons", where, page))

    async def count_crons(
        self,
        *,
        assistant_id: str | None = None,
        thread_id: str | None = None,
        tenant_id: str | None = None,
    ) -> int:
        where = self._cron_filter(assistant_id, thread_id, tenant_id)
        counted: int = await self._tx(self._sql.rows.count, "crons", where)
        return counted

    async def claim_due_crons(
        self, *, now: datetime, next_run: Callable[[Cron], datetime | None]
    ) -> list[Cron]:
        """Advance every enabled cron due at `now` to `next_run(cron)` (None disables it) in one
        transaction and return them as they were, so each due firing is returned to exactly
        one caller across all processes."""
        due: list[Cron] = await self._tx(self._sql.crons.claim_due_crons, now, next_run)
        return due


class Items(Base):
    """The long-term memory store: JSON items by namespace and key, with TTLs and vectors."""

    async def put_item(
        self,
        namespace: Sequence[str],
        key: str,
        value: Json,
        *,
        ttl_seconds: float | None = None,
        vectors: bytes | None = None,
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> None:
        """Insert or replace an item; `vectors` (its field embeddings) replace the stored ones,
        None leaves the item out of semantic search. Every item method reads and writes one
        tenant's items (`tenant_id`); tenants may use the same namespaces and keys."""
        await self._tx(
            self._sql.items.put_item,
            namespace,
            key,
            self._keyring.seal_value(value),
            ttl_seconds,
            vectors,
            tenant_id,
            owner,
        )

    async def get_item(
        self,
        namespace: Sequence[str],
        key: str,
        *,
        refresh_ttl: bool = True,
        tenant_id: str = DEFAULT_TENANT,
    ) -> StoreItem | None:
        found: StoreItem | None = await self._tx(
            self._sql.items.get_item, namespace, key, refresh_ttl, tenant_id
        )
        return None if found is None else self._opened(found)

    async def delete_item(
        self, namespace: Sequence[str], key: str, *, tenant_id: str = DEFAULT_TENANT
    ) -> None:
        await self._tx(self._sql.items.delete_item, namespace, key, tenant_id)

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        limit: int = 10,
        offset: int = 0,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[StoreItem]:
        """Items under the prefix whose value contains `filter`'s top-level key/values."""
        if not filter or not self._keyring:
            found: list[StoreItem] = await self._tx(
                self._sql.items.search_items, namespace_prefix, filter, limit, offset, tenant_id
            )
            return [self._opened(item) for item in found]
        # Sealed values cannot be compared in SQL: read the prefix's items newest first, page by
        # page, and keep those whose opened value matches until the page asked for is full.
        matched: list[StoreItem] = []
        seen = 0
        while len(matched) < offset + limit:
            page: list[StoreItem] = await self._tx(
                self._sql.items.search_items, namespace_prefix, None, _SCAN, seen, tenant_id
            )
            matched += [i for i in map(self._opened, page) if _matches(i.value, filter)]
            seen += len(page)
            if len(page) < _SCAN:
                break
        return matched[offset : offset + limit]

    async def search_vectors(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[tuple[StoreItem, bytes]]:
        """Every live item under the prefix that matches `filter` and has vectors, with them."""
        sealed = bool(self._keyring)  # sealed values are matched after opening, not in SQL
        found: list[tuple[StoreItem, bytes]] = await self._tx(
            self._sql.items.search_vectors, namespace_prefix, None if sealed else filter, tenant_id
        )
        opened = [(self._opened(item), vectors) for item, vectors in found]
        return [pair for pair in opened if not sealed or _matches(pair[0].value, filter)]

    def _opened(self, item: StoreItem) -> StoreItem:
        if not is_sealed(item.value):
            return item
        return replace(item, value=self._keyring.open_value(item.value))

    async def list_namespaces(
        self,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[tuple[str, ...]]:
        query = Namespaces(prefix, suffix, max_depth, limit, offset, tenant_id)
        found: list[tuple[str, ...]] = await self._tx(self._sql.items.list_namespaces, query)
        return found
