"""The scale-out backend: PostgreSQL shared by any number of `serve` and `worker` processes.

One psycopg pool per process serves our queries and LangGraph's official checkpointer. Every
connection is in autocommit with prepared statements off, so the store also works behind
PgBouncer in transaction mode; a state change is one explicit transaction. Wake-ups travel as
`NOTIFY agent_ops` on commit and come back through one dedicated LISTEN connection per process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import psycopg
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agent_ops.errors import StorageError
from agent_ops.storage import _pg_catalog as cat
from agent_ops.storage import _pg_decisions as dl
from agent_ops.storage import _pg_intake as il
from agent_ops.storage import _pg_queue as q
from agent_ops.storage import _pg_store as st
from agent_ops.storage._pg_link import (
    CONNECT_TIMEOUT_SECONDS,
    CONNECTION_KWARGS,
    Wakeups,
    connect,
    describe,
    migrate,
)
from agent_ops.storage._pg_rows import Tx
from agent_ops.storage.protocol import RUN_EVENTS, THREAD_EVENTS, Listener
from agent_ops.storage.records import (
    Assistant,
    Cron,
    IntakeEntry,
    IntakeItem,
    LeaseState,
    ModelDecision,
    QueueStats,
    Run,
    RunEvent,
    StoreItem,
    Thread,
    ThreadEvent,
)
from agent_ops.types import (
    CancelAction,
    IfNotExists,
    Json,
    MultitaskStrategy,
    OnConflictBehavior,
    RunStatus,
    SortOrder,
    ThreadStatus,
)


class PostgresStorage:
    """agent-ops storage in one PostgreSQL database."""

    backend: Literal["sqlite", "postgres"] = "postgres"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self._where = describe(url)
        self._wakeups = Wakeups(url, token=uuid.uuid4().hex)
        self._pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None
        self._saver: AsyncPostgresSaver | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def checkpointer(self) -> AsyncPostgresSaver:
        if self._saver is None:
            raise StorageError("storage is not open; call open() first")
        return self._saver

    async def open(self) -> None:
        # One direct connection first: a wrong URL fails here within the connect timeout,
        # where the pool would keep retrying in the background.
        conn = await connect(self.url)
        try:
            async with conn:
                self._pool = AsyncConnectionPool(
                    self.url,
                    connection_class=AsyncConnection[DictRow],
                    kwargs=CONNECTION_KWARGS,
                    min_size=1,
                    max_size=self.pool_size,
                    open=False,
                    name="agent-ops",
                )
                try:
                    await self._pool.open(wait=True, timeout=2 * CONNECT_TIMEOUT_SECONDS)
                except PoolTimeout as exc:
                    raise StorageError(f"cannot fill the connection pool to {self._where}") from exc
                self._saver = AsyncPostgresSaver(self._pool)
                await migrate(conn, self._saver, self._where)
            await self._wakeups.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._wakeups.stop()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
            self._saver = None

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[Tx]:
        """Run one transaction; hand its wake-ups to local listeners once it has committed."""
        if self._pool is None:
            raise StorageError("storage is not open; call open() first")
        try:
            async with self._pool.connection() as conn, conn.transaction():
                tx = Tx(conn, self._wakeups.token)
                yield tx
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StorageError(f"PostgreSQL at {self._where} failed: {exc}") from exc
        for channel, payload in tx.wakeups:
            self._wakeups.deliver(channel, payload)

    # -- wake-ups -------------------------------------------------------------------------------
    async def notify(self, channel: str, payload: str) -> None:
        async with self._tx() as tx:
            await tx.notify(channel, payload)

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        return self._wakeups.listen(channel, listener)

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
        async with self._tx() as tx:
            return await cat.create_assistant(
                tx,
                assistant_id=assistant_id,
                graph_id=graph_id,
                name=name,
                description=description,
                config=config or {},
                context=context or {},
                metadata=metadata or {},
                if_exists=if_exists,
            )

    async def get_assistant(self, assistant_id: str) -> Assistant:
        async with self._tx() as tx:
            return await cat.get_assistant(tx, assistant_id)

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
        async with self._tx() as tx:
            return await cat.update_assistant(
                tx,
                assistant_id,
                graph_id=graph_id,
                name=name,
                description=description,
                config=config,
                context=context,
                metadata=metadata,
            )

    async def delete_assistant(self, assistant_id: str) -> None:
        async with self._tx() as tx:
            await cat.delete_assistant(tx, assistant_id)

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
        where = cat.assistant_filter(graph_id, name, metadata)
        async with self._tx() as tx:
            return await cat.search_assistants(tx, where, limit, offset, sort_by, sort_order)

    async def count_assistants(
        self, *, graph_id: str | None = None, name: str | None = None, metadata: Json | None = None
    ) -> int:
        async with self._tx() as tx:
            return await cat.count(tx, "assistants", cat.assistant_filter(graph_id, name, metadata))

    async def list_assistant_versions(
        self, assistant_id: str, *, metadata: Json | None = None, limit: int = 10, offset: int = 0
    ) -> list[Assistant]:
        async with self._tx() as tx:
            return await cat.list_assistant_versions(tx, assistant_id, metadata, limit, offset)

    async def set_assistant_version(self, assistant_id: str, version: int) -> Assistant:
        async with self._tx() as tx:
            return await cat.set_assistant_version(tx, assistant_id, version)

    # -- threads --------------------------------------------------------------------------------
    async def create_thread(
        self,
        *,
        thread_id: str,
        metadata: Json | None = None,
        if_exists: OnConflictBehavior = "raise",
    ) -> Thread:
        async with self._tx() as tx:
            return await cat.create_thread(tx, thread_id, metadata or {}, if_exists)

    async def get_thread(self, thread_id: str) -> Thread:
        async with self._tx() as tx:
            return await cat.get_thread(tx, thread_id)

    async def update_thread(self, thread_id: str, *, metadata: Json) -> Thread:
        async with self._tx() as tx:
            return await cat.update_thread(tx, thread_id, metadata)

    async def delete_thread(self, thread_id: str) -> None:
        async with self._tx() as tx:
            await cat.delete_thread(tx, thread_id)

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
        where = cat.thread_filter(ids, metadata, values, status)
        async with self._tx() as tx:
            return await cat.search_threads(tx, where, limit, offset, sort_by, sort_order)

    async def count_threads(
        self,
        *,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
    ) -> int:
        async with self._tx() as tx:
            return await cat.count(tx, "threads", cat.thread_filter(None, metadata, values, status))

    async def set_thread_state(
        self,
        thread_id: str,
        *,
        values: Json | None,
        interrupts: Json,
        status: ThreadStatus | None = None,
    ) -> Thread:
        async with self._tx() as tx:
            return await cat.set_thread_state(tx, thread_id, values, interrupts, status)

    # -- runs and the queue ---------------------------------------------------------------------
    async def create_run(
        self,
        *,
        run_id: str,
        thread_id: str,
        assistant_id: str,
        kwargs: Json,
        metadata: Json | None = None,
        multitask_strategy: MultitaskStrategy = "reject",
        if_not_exists: IfNotExists = "reject",
        after_seconds: float = 0.0,
        stateless: bool = False,
        thread_metadata: Json | None = None,
    ) -> Run:
        async with self._tx() as tx:
            return await q.create_run(
                tx,
                run_id=run_id,
                thread_id=thread_id,
                assistant_id=assistant_id,
                kwargs=kwargs,
                metadata=metadata or {},
                multitask_strategy=multitask_strategy,
                if_not_exists=if_not_exists,
                after_seconds=after_seconds,
                stateless=stateless,
                thread_metadata=thread_metadata or {},
            )

    async def get_run(self, run_id: str, *, thread_id: str | None = None) -> Run:
        async with self._tx() as tx:
            return await q.get_run(tx, run_id, thread_id)

    async def list_runs(
        self,
        thread_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        status: RunStatus | None = None,
    ) -> list[Run]:
        async with self._tx() as tx:
            return await q.list_runs(tx, thread_id, limit, offset, status)

    async def delete_run(self, run_id: str, *, thread_id: str | None = None) -> None:
        async with self._tx() as tx:
            await q.delete_run(tx, run_id, thread_id)

    async def claim_runs(
        self, *, worker_id: str, lease_seconds: float, max_attempts: int, limit: int = 1
    ) -> list[Run]:
        claimed: list[Run] = []
        async with self._tx() as tx:
            while len(claimed) < limit:
                run = await q.claim_run(tx, worker_id, lease_seconds, max_attempts)
                if run is None:
                    break
                claimed.append(run)
        return claimed

    async def renew_lease(self, run_id: str, *, worker_id: str, lease_seconds: float) -> LeaseState:
        async with self._tx() as tx:
            return await q.renew_lease(tx, run_id, worker_id, lease_seconds)

    async def finish_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        status: RunStatus,
        error: str | None = None,
        thread_values: Json | None = None,
        thread_interrupts: Json | None = None,
        output: Json | None = None,
    ) -> Run | None:
        async with self._tx() as tx:
            return await q.finish_run(
                tx, run_id, worker_id, status, error, thread_values, thread_interrupts, output
            )

    async def rollback_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        thread_values: Json | None,
        thread_interrupts: Json,
    ) -> bool:
        async with self._tx() as tx:
            return await q.rollback_run(tx, run_id, worker_id, thread_values, thread_interrupts)

    async def release_run(self, run_id: str, *, worker_id: str) -> bool:
        async with self._tx() as tx:
            return await q.release_run(tx, run_id, worker_id)

    async def cancel_runs(
        self, run_ids: Sequence[str], *, thread_id: str | None = None, action: CancelAction
    ) -> list[Run]:
        async with self._tx() as tx:
            return await q.cancel_runs(tx, run_ids, thread_id, action)

    # -- stream events --------------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[RunEvent]) -> None:
        if not events:
            return
        async with self._tx() as tx:
            await q.append_events(tx, run_id, events)
            await tx.notify(RUN_EVENTS, run_id)

    async def read_events(self, run_id: str, *, after_seq: int = 0) -> list[RunEvent]:
        async with self._tx() as tx:
            return await q.read_events(tx, run_id, after_seq)

    async def delete_events(self, *, finished_before: datetime) -> int:
        async with self._tx() as tx:
            return await q.delete_events(tx, finished_before)

    async def append_thread_event(self, thread_id: str, event: str, data: bytes) -> ThreadEvent:
        async with self._tx() as tx:
            stored = await q.append_thread_event(tx, thread_id, str(uuid.uuid4()), event, data)
            await tx.notify(THREAD_EVENTS, thread_id)
            return stored

    async def read_thread_events(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ThreadEvent]:
        async with self._tx() as tx:
            return await q.read_thread_events(tx, thread_id, since)

    async def purge_stateless_threads(self, *, finished_before: datetime) -> list[str]:
        async with self._tx() as tx:
            return await q.purge_stateless_threads(tx, finished_before)

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
        async with self._tx() as tx:
            await st.put_item(tx, namespace, key, value, ttl_seconds, vectors)

    async def get_item(
        self, namespace: Sequence[str], key: str, *, refresh_ttl: bool = True
    ) -> StoreItem | None:
        async with self._tx() as tx:
            return await st.get_item(tx, namespace, key, refresh_ttl)

    async def delete_item(self, namespace: Sequence[str], key: str) -> None:
        async with self._tx() as tx:
            await st.delete_item(tx, namespace, key)

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[StoreItem]:
        async with self._tx() as tx:
            return await st.search_items(tx, namespace_prefix, filter, limit, offset)

    async def search_vectors(
        self, namespace_prefix: Sequence[str], *, filter: Json | None = None
    ) -> list[tuple[StoreItem, bytes]]:
        async with self._tx() as tx:
            return await st.search_vectors(tx, namespace_prefix, filter)

    async def list_namespaces(
        self,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        async with self._tx() as tx:
            return await st.list_namespaces(tx, prefix, suffix, max_depth, limit, offset)

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
        async with self._tx() as tx:
            return await cat.create_cron(
                tx,
                cron_id=cron_id,
                assistant_id=assistant_id,
                thread_id=thread_id,
                schedule=schedule,
                payload=payload,
                metadata=metadata or {},
                next_run_date=next_run_date,
                end_time=end_time,
                enabled=enabled,
            )

    async def get_cron(self, cron_id: str) -> Cron:
        async with self._tx() as tx:
            return await cat.get_cron(tx, cron_id)

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
            "payload": None if payload is None else Jsonb(payload),
            "next_run_date": next_run_date,
            "end_time": end_time,
            "enabled": enabled,
        }
        changes = {column: value for column, value in given.items() if value is not None}
        async with self._tx() as tx:
            return await cat.update_cron(tx, cron_id, changes, metadata or {})

    async def delete_cron(self, cron_id: str) -> None:
        async with self._tx() as tx:
            await cat.delete_cron(tx, cron_id)

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
        where = cat.cron_filter(assistant_id, thread_id, enabled)
        async with self._tx() as tx:
            return await cat.search_crons(tx, where, limit, offset, sort_by, sort_order)

    async def count_crons(
        self, *, assistant_id: str | None = None, thread_id: str | None = None
    ) -> int:
        async with self._tx() as tx:
            return await cat.count(tx, "crons", cat.cron_filter(assistant_id, thread_id, None))

    async def claim_due_crons(
        self, *, now: datetime, next_run: Callable[[Cron], datetime | None]
    ) -> list[Cron]:
        async with self._tx() as tx:
            return await cat.claim_due_crons(tx, now, next_run)

    # -- workers and metrics --------------------------------------------------------------------
    async def heartbeat_worker(self, worker_id: str, *, hostname: str, pid: int) -> None:
        async with self._tx() as tx:
            await q.heartbeat_worker(tx, worker_id, hostname, pid)

    async def remove_worker(self, worker_id: str) -> None:
        async with self._tx() as tx:
            await tx.conn.execute("DELETE FROM workers WHERE worker_id = %s", (worker_id,))

    async def queue_stats(self, *, live_within_seconds: float) -> QueueStats:
        async with self._tx() as tx:
            return await q.queue_stats(tx, live_within_seconds)

    # -- decision log ---------------------------------------------------------------------------
    async def record_decision(self, decision: ModelDecision) -> None:
        async with self._tx() as tx:
            await dl.record_decision(tx, decision)

    async def list_decisions(
        self, *, run_id: str | None = None, thread_id: str | None = None
    ) -> list[ModelDecision]:
        async with self._tx() as tx:
            return await dl.list_decisions(tx, run_id, thread_id)

    # -- intake ledger --------------------------------------------------------------------------
    async def create_intake_run(
        self,
        entry: IntakeEntry,
        *,
        run_id: str,
        thread_id: str,
        assistant_id: str,
        kwargs: Json,
        metadata: Json | None = None,
        thread_metadata: Json | None = None,
    ) -> tuple[IntakeItem, bool]:
        async with self._tx() as tx:
            return await il.create_intake_run(
                tx,
                entry,
                run_id=run_id,
                thread_id=thread_id,
                assistant_id=assistant_id,
                kwargs=kwargs,
                metadata=metadata or {},
                thread_metadata=thread_metadata or {},
            )

    async def get_intake(self, source: str, key: str) -> IntakeItem | None:
        async with self._tx() as tx:
            return await il.get_intake(tx, source, key)

    async def settle_intake(self, source: str, key: str) -> IntakeItem:
        async with self._tx() as tx:
            return await il.settle_intake(tx, source, key)

    async def list_intake(
        self, *, source: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[IntakeItem]:
        async with self._tx() as tx:
            return await il.list_intake(tx, source, limit, offset)


if TYPE_CHECKING:
    from agent_ops.storage.protocol import Storage

    _conforms: type[Storage] = PostgresStorage
