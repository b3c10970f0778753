"""The embedded backend: one SQLite file in WAL mode, shared with LangGraph's SQLite checkpointer.

One connection, owned by one thread, serves both: each of our transactions and each checkpoint
operation is one function run on that thread, so each costs a single thread hop and none can
interleave with another. Wake-ups stay in this process; other processes on the same file (a
second `serve`, `migrate`) are safe (SQLite locks the file) and find new runs by polling.
Scale out on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from agent_ops.errors import Conflict, InvalidInput, NotFound, StorageError
from agent_ops.storage import _sqlite_decisions as dl
from agent_ops.storage import _sqlite_intake as il
from agent_ops.storage import _sqlite_queue as q
from agent_ops.storage._listeners import Listeners
from agent_ops.storage._sqlite_rows import (
    NS_SEP,
    assistant_from_row,
    cron_from_row,
    dumps,
    epoch,
    item_from_row,
    thread_from_row,
)
from agent_ops.storage._sqlite_saver import ThreadedSqliteSaver
from agent_ops.storage.migrations import load_migrations
from agent_ops.storage.protocol import (
    RUN_CANCEL,
    RUN_DONE,
    RUN_EVENTS,
    RUN_QUEUED,
    THREAD_EVENTS,
    Listener,
)
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
    ASSISTANT_SORT_COLUMNS,
    CRON_SORT_COLUMNS,
    DEFAULT_OWNER,
    DEFAULT_TENANT,
    THREAD_SORT_COLUMNS,
    CancelAction,
    IfNotExists,
    Json,
    MultitaskStrategy,
    OnConflictBehavior,
    RunStatus,
    SortOrder,
    ThreadStatus,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_ASSISTANT_SORT = ASSISTANT_SORT_COLUMNS
_THREAD_SORT = THREAD_SORT_COLUMNS
_CRON_SORT = CRON_SORT_COLUMNS


def _order(
    sort_by: str | None, sort_order: SortOrder | None, allowed: frozenset[str], default: str
) -> str:
    column = sort_by or default
    if column not in allowed:
        raise InvalidInput(f"sort_by {column!r} is not one of {sorted(allowed)}")
    direction = "ASC" if sort_order == "asc" else "DESC"
    return f' ORDER BY "{column}" {direction}'


def _contains(column: str, wanted: Json | None, sql: list[str], params: list[Any]) -> None:
    """Add `column` contains every top-level key/value of `wanted` to a WHERE clause."""
    for key, value in (wanted or {}).items():
        sql.append(f"{column} -> ? = ?")
        params.extend(['$."' + key.replace('"', '\\"') + '"', dumps(value)])


def _where(sql: list[str]) -> str:
    return (" WHERE " + " AND ".join(sql)) if sql else ""


def _parent_folder(path: str) -> Path | None:
    """Return the database's parent folder when it does not exist (a clear error beats sqlite's)."""
    parent = Path(path).expanduser().resolve().parent
    return None if parent.is_dir() else parent


class SqliteStorage:
    """agent-ops storage in one SQLite file."""

    backend: Literal["sqlite", "postgres"] = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._saver: ThreadedSqliteSaver | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._listeners = Listeners()

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def checkpointer(self) -> ThreadedSqliteSaver:
        if self._saver is None:
            raise StorageError("storage is not open; call open() first")
        return self._saver

    async def open(self) -> None:
        parent = _parent_folder(self.path)
        if parent is not None:
            raise StorageError(
                f"cannot open SQLite database {self.path!r}: {parent} is not a folder"
            )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-ops-sqlite")
        try:
            self._conn = await self._run(self._connect)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._saver = ThreadedSqliteSaver(self._conn, self._run)
        await self._run(self._saver.setup)
        await self._tx(self._migrate)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=10000;"
        )
        return conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
            self._saver = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the database thread."""
        if self._thread is None:
            raise StorageError("storage is not open; call open() first")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    @staticmethod
    def _migrate(c: sqlite3.Connection) -> None:
        c.execute(
            "CREATE TABLE IF NOT EXISTS agent_ops_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        done = {row[0] for row in c.execute("SELECT version FROM agent_ops_migrations")}
        for migration in load_migrations("sqlite"):
            if migration.version in done:
                continue
            for statement in migration.sql.split(";\n"):
                if statement.strip():
                    c.execute(statement)
            c.execute(
                "INSERT INTO agent_ops_migrations VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            log.info("applied migration %04d_%s", migration.version, migration.name)

    async def _tx(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` as one IMMEDIATE transaction on the database thread."""
        conn = self._conn
        if conn is None:
            raise StorageError("storage is not open; call open() first")

        def run() -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, *args)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result

        return await self._run(run)

    # -- wake-ups -------------------------------------------------------------------------------
    async def notify(self, channel: str, payload: str) -> None:
        self._deliver(channel, payload)

    def _deliver(self, channel: str, payload: str) -> None:
        self._listeners.deliver(channel, payload)

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        return self._listeners.listen(channel, listener)

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
        def tx(c: sqlite3.Connection) -> Assistant:
            row = c.execute(
                "SELECT * FROM assistants WHERE assistant_id = ?", (assistant_id,)
            ).fetchone()
            if row is not None:
                if if_exists == "do_nothing":
                    return assistant_from_row(row)
                raise Conflict(f"assistant {assistant_id} already exists")
            now = time.time()
            values = (
                assistant_id,
                DEFAULT_TENANT,
                DEFAULT_OWNER,
                graph_id,
                name,
                description,
                dumps(config or {}),
                dumps(context or {}),
                dumps(metadata or {}),
            )
            c.execute(
                "INSERT INTO assistants (assistant_id, tenant_id, owner, graph_id, name,"
                " description, config, context, metadata, version, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (*values, now, now),
            )
            c.execute(
                "INSERT INTO assistant_versions (assistant_id, tenant_id, owner, graph_id, name,"
                " description, config, context, metadata, version, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (*values, now),
            )
            return assistant_from_row(
                c.execute(
                    "SELECT * FROM assistants WHERE assistant_id = ?", (assistant_id,)
                ).fetchone()
            )

        return await self._tx(tx)

    async def get_assistant(self, assistant_id: str) -> Assistant:
        def tx(c: sqlite3.Connection) -> Assistant:
            row = c.execute(
                "SELECT * FROM assistants WHERE assistant_id = ?", (assistant_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"assistant {assistant_id} not found")
            return assistant_from_row(row)

        return await self._tx(tx)

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
        def tx(c: sqlite3.Connection) -> Assistant:
            row = c.execute(
                "SELECT * FROM assistants WHERE assistant_id = ?", (assistant_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"assistant {assistant_id} not found")
            cur = assistant_from_row(row)
            version = (
                1
                + c.execute(
                    "SELECT MAX(version) FROM assistant_versions WHERE assistant_id = ?",
                    (assistant_id,),
                ).fetchone()[0]
            )
            now = time.time()
            values = (
                graph_id or cur.graph_id,
                name or cur.name,
                description if description is not None else cur.description,
                dumps(config if config is not None else cur.config),
                dumps(context if context is not None else cur.context),
                dumps({**cur.metadata, **(metadata or {})}),
            )
            c.execute(
                "INSERT INTO assistant_versions (assistant_id, tenant_id, owner, graph_id, name,"
                " description, config, context, metadata, version, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (assistant_id, cur.tenant_id, cur.owner, *values, version, now),
            )
            updated = c.execute(
                "UPDATE assistants SET graph_id = ?, name = ?, description = ?, config = ?,"
                " context = ?, metadata = ?, version = ?, updated_at = ? WHERE assistant_id = ?"
                " RETURNING *",
                (*values, version, now, assistant_id),
            ).fetchone()
            return assistant_from_row(updated)

        return await self._tx(tx)

    async def delete_assistant(self, assistant_id: str) -> None:
        def tx(c: sqlite3.Connection) -> None:
            if (
                c.execute("DELETE FROM assistants WHERE assistant_id = ?", (assistant_id,)).rowcount
                == 0
            ):
                raise NotFound(f"assistant {assistant_id} not found")

        await self._tx(tx)

    @staticmethod
    def _assistant_filter(
        graph_id: str | None, name: str | None, metadata: Json | None
    ) -> tuple[str, list[Any]]:
        sql: list[str] = []
        params: list[Any] = []
        if graph_id is not None:
            sql.append("graph_id = ?")
            params.append(graph_id)
        if name is not None:
            sql.append("name LIKE ? ESCAPE '\\'")
            escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        _contains("metadata", metadata, sql, params)
        return _where(sql), params

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
        where, params = self._assistant_filter(graph_id, name, metadata)
        order = _order(sort_by, sort_order, _ASSISTANT_SORT, "created_at")

        def tx(c: sqlite3.Connection) -> list[Assistant]:
            rows = c.execute(
                f"SELECT * FROM assistants{where}{order}, assistant_id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            return [assistant_from_row(r) for r in rows]

        return await self._tx(tx)

    async def count_assistants(
        self, *, graph_id: str | None = None, name: str | None = None, metadata: Json | None = None
    ) -> int:
        where, params = self._assistant_filter(graph_id, name, metadata)
        return await self._tx(
            lambda c: c.execute(f"SELECT COUNT(*) FROM assistants{where}", params).fetchone()[0]
        )

    async def list_assistant_versions(
        self, assistant_id: str, *, metadata: Json | None = None, limit: int = 10, offset: int = 0
    ) -> list[Assistant]:
        sql = ["assistant_id = ?"]
        params: list[Any] = [assistant_id]
        _contains("metadata", metadata, sql, params)

        def tx(c: sqlite3.Connection) -> list[Assistant]:
            rows = c.execute(
                f"SELECT * FROM assistant_versions{_where(sql)} ORDER BY version DESC"
                " LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
            if (
                not rows
                and offset == 0
                and c.execute(
                    "SELECT 1 FROM assistants WHERE assistant_id = ?", (assistant_id,)
                ).fetchone()
                is None
            ):
                raise NotFound(f"assistant {assistant_id} not found")
            return [assistant_from_row(r, version_row=True) for r in rows]

        return await self._tx(tx)

    async def set_assistant_version(self, assistant_id: str, version: int) -> Assistant:
        def tx(c: sqlite3.Connection) -> Assistant:
            row = c.execute(
                "SELECT * FROM assistant_versions WHERE assistant_id = ? AND version = ?",
                (assistant_id, version),
            ).fetchone()
            if row is None:
                raise NotFound(f"assistant {assistant_id} has no version {version}")
            updated = c.execute(
                "UPDATE assistants SET graph_id = ?, name = ?, description = ?, config = ?,"
                " context = ?, metadata = ?, version = ?, updated_at = ? WHERE assistant_id = ?"
                " RETURNING *",
                (
                    row["graph_id"],
                    row["name"],
                    row["description"],
                    row["config"],
                    row["context"],
                    row["metadata"],
                    version,
                    time.time(),
                    assistant_id,
                ),
            ).fetchone()
            return assistant_from_row(updated)

        return await self._tx(tx)

    # -- threads --------------------------------------------------------------------------------
    async def create_thread(
        self,
        *,
        thread_id: str,
        metadata: Json | None = None,
        if_exists: OnConflictBehavior = "raise",
    ) -> Thread:
        def tx(c: sqlite3.Connection) -> Thread:
            row = c.execute("SELECT * FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
            if row is not None:
                if if_exists == "do_nothing":
                    return thread_from_row(row)
                raise Conflict(f"thread {thread_id} already exists")
            now = time.time()
            return thread_from_row(
                c.execute(
                    "INSERT INTO threads (thread_id, tenant_id, owner, status, metadata, created_at,"
                    " updated_at, state_updated_at) VALUES (?, ?, ?, 'idle', ?, ?, ?, ?) RETURNING *",
                    (
                        thread_id,
                        DEFAULT_TENANT,
                        DEFAULT_OWNER,
                        dumps(metadata or {}),
                        now,
                        now,
                        now,
                    ),
                ).fetchone()
            )

        return await self._tx(tx)

    async def get_thread(self, thread_id: str) -> Thread:
        def tx(c: sqlite3.Connection) -> Thread:
            row = c.execute("SELECT * FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
            if row is None:
                raise NotFound(f"thread {thread_id} not found")
            return thread_from_row(row)

        return await self._tx(tx)

    async def update_thread(self, thread_id: str, *, metadata: Json) -> Thread:
        def tx(c: sqlite3.Connection) -> Thread:
            row = c.execute(
                "SELECT metadata FROM threads WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"thread {thread_id} not found")
            merged = {**json.loads(row[0]), **metadata}
            return thread_from_row(
                c.execute(
                    "UPDATE threads SET metadata = ?, updated_at = ? WHERE thread_id = ? RETURNING *",
                    (dumps(merged), time.time(), thread_id),
                ).fetchone()
            )

        return await self._tx(tx)

    async def delete_thread(self, thread_id: str) -> None:
        def tx(c: sqlite3.Connection) -> None:
            if c.execute("DELETE FROM threads WHERE thread_id = ?", (thread_id,)).rowcount == 0:
                raise NotFound(f"thread {thread_id} not found")

        await self._tx(tx)

    @staticmethod
    def _thread_filter(
        ids: Sequence[str] | None,
        metadata: Json | None,
        values: Json | None,
        status: ThreadStatus | None,
    ) -> tuple[str, list[Any]]:
        sql: list[str] = []
        params: list[Any] = []
        if ids is not None:
            sql.append(f"thread_id IN ({', '.join('?' for _ in ids) or 'NULL'})")
            params.extend(ids)
        if status is not None:
            sql.append("status = ?")
            params.append(status)
        _contains("metadata", metadata, sql, params)
        _contains('"values"', values, sql, params)
        return _where(sql), params

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
        where, params = self._thread_filter(ids, metadata, values, status)
        order = _order(sort_by, sort_order, _THREAD_SORT, "created_at")
        return await self._tx(
            lambda c: [
                thread_from_row(r)
                for r in c.execute(
                    f"SELECT * FROM threads{where}{order}, thread_id LIMIT ? OFFSET ?",
                    (*params, limit, offset),
                )
            ]
        )

    async def count_threads(
        self,
        *,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
    ) -> int:
        where, params = self._thread_filter(None, metadata, values, status)
        return await self._tx(
            lambda c: c.execute(f"SELECT COUNT(*) FROM threads{where}", params).fetchone()[0]
        )

    async def set_thread_state(
        self,
        thread_id: str,
        *,
        values: Json | None,
        interrupts: Json,
        status: ThreadStatus | None = None,
    ) -> Thread:
        def tx(c: sqlite3.Connection) -> Thread:
            now = time.time()
            if (
                c.execute(
                    'UPDATE threads SET "values" = ?, interrupts = ?, state_updated_at = ?,'
                    " updated_at = ? WHERE thread_id = ?",
                    (
                        None if values is None else dumps(values),
                        dumps(interrupts),
                        now,
                        now,
                        thread_id,
                    ),
                ).rowcount
                == 0
            ):
                raise NotFound(f"thread {thread_id} not found")
            if status is not None:
                c.execute("UPDATE threads SET status = ? WHERE thread_id = ?", (status, thread_id))
            else:
                q.settle_thread(c, thread_id, "interrupted" if interrupts else "idle", now)
            return thread_from_row(
                c.execute("SELECT * FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
            )

        return await self._tx(tx)

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
        run, flagged = await self._tx(
            lambda c: q.create_run(
                c,
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
                now=time.time(),
            )
        )
        for other in flagged:
            self._deliver(RUN_CANCEL, other)
        self._deliver(RUN_QUEUED, run.run_id)
        return run

    async def get_run(self, run_id: str, *, thread_id: str | None = None) -> Run:
        return await self._tx(q.get_run, run_id, thread_id)

    async def list_runs(
        self,
        thread_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        status: RunStatus | None = None,
    ) -> list[Run]:
        return await self._tx(q.list_runs, thread_id, limit, offset, status)

    async def delete_run(self, run_id: str, *, thread_id: str | None = None) -> None:
        await self._tx(q.delete_run, run_id, thread_id)

    async def claim_runs(
        self, *, worker_id: str, lease_seconds: float, max_attempts: int, limit: int = 1
    ) -> list[Run]:
        claimed, ended = await self._tx(
            q.claim_runs, worker_id, lease_seconds, max_attempts, limit, time.time()
        )
        for run_id in ended:
            self._deliver(RUN_DONE, run_id)
        return claimed

    async def renew_lease(self, run_id: str, *, worker_id: str, lease_seconds: float) -> LeaseState:
        return await self._tx(q.renew_lease, run_id, worker_id, lease_seconds, time.time())

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
        finished, following = await self._tx(
            q.finish_run,
            run_id,
            worker_id,
            status,
            error,
            None if thread_values is None else dumps(thread_values),
            None if thread_interrupts is None else dumps(thread_interrupts),
            None if output is None else dumps(output),
            time.time(),
        )
        if finished is None:
            return None
        self._deliver(RUN_DONE, run_id)
        if following is not None:  # the thread's next run may go now
            self._deliver(RUN_QUEUED, following)
        return finished

    async def rollback_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        thread_values: Json | None,
        thread_interrupts: Json,
    ) -> bool:
        thread_id, following = await self._tx(
            q.rollback_run,
            run_id,
            worker_id,
            None if thread_values is None else dumps(thread_values),
            dumps(thread_interrupts),
            time.time(),
        )
        if thread_id is None:
            return False
        self._deliver(RUN_DONE, run_id)
        if following is not None:  # the thread's next run may go now
            self._deliver(RUN_QUEUED, following)
        return True

    async def release_run(self, run_id: str, *, worker_id: str) -> bool:
        released = await self._tx(q.release_run, run_id, worker_id, time.time())
        if released:
            self._deliver(RUN_QUEUED, run_id)
        return released

    async def cancel_runs(
        self, run_ids: Sequence[str], *, thread_id: str | None = None, action: CancelAction
    ) -> list[Run]:
        after, flagged, ended = await self._tx(
            q.cancel_runs, list(run_ids), thread_id, action, time.time()
        )
        for run_id in flagged:
            self._deliver(RUN_CANCEL, run_id)
        for run_id in ended:
            self._deliver(RUN_DONE, run_id)
        if ended:
            self._deliver(RUN_QUEUED, ended[0])
        return after

    # -- stream events --------------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[RunEvent]) -> None:
        if not events:
            return
        await self._tx(q.append_events, run_id, list(events))
        self._deliver(RUN_EVENTS, run_id)

    async def read_events(self, run_id: str, *, after_seq: int = 0) -> list[RunEvent]:
        return await self._tx(q.read_events, run_id, after_seq)

    async def delete_events(self, *, finished_before: datetime) -> int:
        return await self._tx(q.delete_events, finished_before.timestamp())

    async def append_thread_event(self, thread_id: str, event: str, data: bytes) -> ThreadEvent:
        stored = await self._tx(
            q.append_thread_event, thread_id, str(uuid.uuid4()), event, data, time.time()
        )
        self._deliver(THREAD_EVENTS, thread_id)
        return stored

    async def read_thread_events(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ThreadEvent]:
        return await self._tx(q.read_thread_events, thread_id, epoch(since))

    async def purge_stateless_threads(self, *, finished_before: datetime) -> list[str]:
        return await self._tx(q.purge_stateless_threads, finished_before.timestamp())

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
        ns = NS_SEP.join(namespace)
        now = time.time()
        expires = None if ttl_seconds is None else now + ttl_seconds
        await self._tx(
            lambda c: c.execute(
                "INSERT INTO store_items (tenant_id, owner, namespace, key, value, created_at,"
                " updated_at, expires_at, ttl_seconds, vectors)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at, expires_at = excluded.expires_at,"
                " ttl_seconds = excluded.ttl_seconds, vectors = excluded.vectors",
                (
                    DEFAULT_TENANT,
                    DEFAULT_OWNER,
                    ns,
                    key,
                    dumps(value),
                    now,
                    now,
                    expires,
                    ttl_seconds,
                    vectors,
                ),
            )
        )

    async def get_item(
        self, namespace: Sequence[str], key: str, *, refresh_ttl: bool = True
    ) -> StoreItem | None:
        ns = NS_SEP.join(namespace)

        def tx(c: sqlite3.Connection) -> StoreItem | None:
            now = time.time()
            row = c.execute(
                "SELECT * FROM store_items WHERE tenant_id = ? AND namespace = ? AND key = ?"
                " AND (expires_at IS NULL OR expires_at > ?)",
                (DEFAULT_TENANT, ns, key, now),
            ).fetchone()
            if row is None:
                return None
            if refresh_ttl and row["ttl_seconds"] is not None:
                row = c.execute(
                    "UPDATE store_items SET expires_at = ? WHERE tenant_id = ? AND namespace = ?"
                    " AND key = ? RETURNING *",
                    (now + row["ttl_seconds"], DEFAULT_TENANT, ns, key),
                ).fetchone()
            return item_from_row(row)

        return await self._tx(tx)

    async def delete_item(self, namespace: Sequence[str], key: str) -> None:
        ns = NS_SEP.join(namespace)
        await self._tx(
            lambda c: c.execute(
                "DELETE FROM store_items WHERE tenant_id = ? AND namespace = ? AND key = ?",
                (DEFAULT_TENANT, ns, key),
            )
        )

    @staticmethod
    def _item_filter(
        namespace_prefix: Sequence[str], filter: Json | None
    ) -> tuple[list[str], list[Any]]:
        prefix = NS_SEP.join(namespace_prefix)
        sql = ["tenant_id = ?", "(expires_at IS NULL OR expires_at > ?)"]
        params: list[Any] = [DEFAULT_TENANT, time.time()]
        if namespace_prefix:
            sql.append("(namespace = ? OR substr(namespace, 1, ?) = ?)")
            params.extend([prefix, len(prefix) + 1, prefix + NS_SEP])
        _contains("value", filter, sql, params)
        return sql, params

    async def search_vectors(
        self, namespace_prefix: Sequence[str], *, filter: Json | None = None
    ) -> list[tuple[StoreItem, bytes]]:
        sql, params = self._item_filter(namespace_prefix, filter)
        sql.append("vectors IS NOT NULL")
        return await self._tx(
            lambda c: [
                (item_from_row(r), bytes(r["vectors"]))
                for r in c.execute(f"SELECT * FROM store_items{_where(sql)}", params)
            ]
        )

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[StoreItem]:
        sql, params = self._item_filter(namespace_prefix, filter)
        return await self._tx(
            lambda c: [
                item_from_row(r)
                for r in c.execute(
                    f"SELECT * FROM store_items{_where(sql)} ORDER BY updated_at DESC, namespace, key"
                    " LIMIT ? OFFSET ?",
                    (*params, limit, offset),
                )
            ]
        )

    async def list_namespaces(
        self,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        rows = await self._tx(
            lambda c: [
                r[0]
                for r in c.execute(
                    "SELECT DISTINCT namespace FROM store_items WHERE tenant_id = ?"
                    " AND (expires_at IS NULL OR expires_at > ?)",
                    (DEFAULT_TENANT, time.time()),
                )
            ]
        )
        found: set[tuple[str, ...]] = set()
        for text in rows:
            ns = tuple(text.split(NS_SEP))
            if prefix and ns[: len(prefix)] != tuple(prefix):
                continue
            if suffix and ns[-len(suffix) :] != tuple(suffix):
                continue
            found.add(ns[:max_depth] if max_depth is not None else ns)
        return sorted(found)[offset : offset + limit]

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
        def tx(c: sqlite3.Connection) -> Cron:
            if (
                thread_id is not None
                and c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
                is None
            ):
                raise NotFound(f"thread {thread_id} not found")
            if c.execute("SELECT 1 FROM crons WHERE cron_id = ?", (cron_id,)).fetchone():
                raise Conflict(f"cron {cron_id} already exists")
            now = time.time()
            return cron_from_row(
                c.execute(
                    "INSERT INTO crons (cron_id, tenant_id, owner, assistant_id, thread_id, schedule,"
                    " payload, metadata, next_run_date, end_time, enabled, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                    (
                        cron_id,
                        DEFAULT_TENANT,
                        DEFAULT_OWNER,
                        assistant_id,
                        thread_id,
                        schedule,
                        dumps(payload),
                        dumps(metadata or {}),
                        epoch(next_run_date),
                        epoch(end_time),
                        int(enabled),
                        now,
                        now,
                    ),
                ).fetchone()
            )

        return await self._tx(tx)

    async def get_cron(self, cron_id: str) -> Cron:
        def tx(c: sqlite3.Connection) -> Cron:
            row = c.execute("SELECT * FROM crons WHERE cron_id = ?", (cron_id,)).fetchone()
            if row is None:
                raise NotFound(f"cron {cron_id} not found")
            return cron_from_row(row)

        return await self._tx(tx)

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
        changes: dict[str, Any] = {}
        if schedule is not None:
            changes["schedule"] = schedule
        if payload is not None:
            changes["payload"] = dumps(payload)
        if next_run_date is not None:
            changes["next_run_date"] = epoch(next_run_date)
        if end_time is not None:
            changes["end_time"] = epoch(end_time)
        if enabled is not None:
            changes["enabled"] = int(enabled)
        sets = "".join(f", {column} = ?" for column in changes)

        def tx(c: sqlite3.Connection) -> Cron:
            row = c.execute("SELECT metadata FROM crons WHERE cron_id = ?", (cron_id,)).fetchone()
            if row is None:
                raise NotFound(f"cron {cron_id} not found")
            merged = {**json.loads(row[0]), **(metadata or {})}
            return cron_from_row(
                c.execute(
                    f"UPDATE crons SET updated_at = ?{sets}, metadata = ? WHERE cron_id = ?"
                    " RETURNING *",
                    (time.time(), *changes.values(), dumps(merged), cron_id),
                ).fetchone()
            )

        return await self._tx(tx)

    async def delete_cron(self, cron_id: str) -> None:
        def tx(c: sqlite3.Connection) -> None:
            if c.execute("DELETE FROM crons WHERE cron_id = ?", (cron_id,)).rowcount == 0:
                raise NotFound(f"cron {cron_id} not found")

        await self._tx(tx)

    @staticmethod
    def _cron_filter(
        assistant_id: str | None, thread_id: str | None, enabled: bool | None = None
    ) -> tuple[str, list[Any]]:
        sql: list[str] = []
        params: list[Any] = []
        for column, value in (("assistant_id", assistant_id), ("thread_id", thread_id)):
            if value is not None:
                sql.append(f"{column} = ?")
                params.append(value)
        if enabled is not None:
            sql.append("enabled = ?")
            params.append(int(enabled))
        return _where(sql), params

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
        where, params = self._cron_filter(assistant_id, thread_id, enabled)
        order = _order(sort_by, sort_order, _CRON_SORT, "created_at")
        return await self._tx(
            lambda c: [
                cron_from_row(r)
                for r in c.execute(
                    f"SELECT * FROM crons{where}{order}, cron_id LIMIT ? OFFSET ?",
                    (*params, limit, offset),
                )
            ]
        )

    async def count_crons(
        self, *, assistant_id: str | None = None, thread_id: str | None = None
    ) -> int:
        where, params = self._cron_filter(assistant_id, thread_id)
        return await self._tx(
            lambda c: c.execute(f"SELECT COUNT(*) FROM crons{where}", params).fetchone()[0]
        )

    async def claim_due_crons(
        self, *, now: datetime, next_run: Callable[[Cron], datetime | None]
    ) -> list[Cron]:
        def tx(c: sqlite3.Connection) -> list[Cron]:
            due = [
                cron_from_row(r)
                for r in c.execute(
                    "SELECT * FROM crons WHERE enabled = 1 AND next_run_date <= ?"
                    " ORDER BY next_run_date",
                    (now.timestamp(),),
                )
            ]
            for cron in due:
                following = next_run(cron)
                c.execute(
                    "UPDATE crons SET next_run_date = ?, enabled = ?, updated_at = ?"
                    " WHERE cron_id = ?",
                    (epoch(following), int(following is not None), time.time(), cron.cron_id),
                )
            return due

        return await self._tx(tx)

    # -- workers and metrics --------------------------------------------------------------------
    async def heartbeat_worker(self, worker_id: str, *, hostname: str, pid: int) -> None:
        now = time.time()
        await self._tx(
            lambda c: c.execute(
                "INSERT INTO workers (worker_id, hostname, pid, started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (worker_id) DO UPDATE SET"
                " heartbeat_at = excluded.heartbeat_at",
                (worker_id, hostname, pid, now, now),
            )
        )

    async def remove_worker(self, worker_id: str) -> None:
        await self._tx(lambda c: c.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,)))

    async def queue_stats(self, *, live_within_seconds: float) -> QueueStats:
        def tx(c: sqlite3.Connection) -> QueueStats:
            now = time.time()
            by_status = dict(c.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"))
            oldest = c.execute(
                "SELECT MIN(created_at) FROM runs WHERE status = 'pending' AND not_before <= ?",
                (now,),
            ).fetchone()[0]
            live = c.execute(
                "SELECT COUNT(*) FROM workers WHERE heartbeat_at >= ?", (now - live_within_seconds,)
            ).fetchone()[0]
            return QueueStats(
                runs_by_status=by_status,
                pending=by_status.get("pending", 0),
                oldest_pending_age_seconds=0.0 if oldest is None else max(0.0, now - oldest),
                live_workers=live,
            )

        return await self._tx(tx)

    # -- decision log ---------------------------------------------------------------------------
    async def record_decision(self, decision: ModelDecision) -> None:
        await self._tx(dl.record_decision, decision)

    async def list_decisions(
        self, *, run_id: str | None = None, thread_id: str | None = None
    ) -> list[ModelDecision]:
        return await self._tx(dl.list_decisions, run_id, thread_id)

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
        item, created = await self._tx(
            lambda c: il.create_intake_run(
                c,
                entry,
                run_id=run_id,
                thread_id=thread_id,
                assistant_id=assistant_id,
                kwargs=kwargs,
                metadata=metadata or {},
                thread_metadata=thread_metadata or {},
                now=time.time(),
            )
        )
        if created:
            self._deliver(RUN_QUEUED, run_id)
        return item, created

    async def get_intake(self, source: str, key: str) -> IntakeItem | None:
        return await self._tx(il.get_intake, source, key)

    async def settle_intake(self, source: str, key: str) -> IntakeItem:
        return await self._tx(il.settle_intake, source, key, time.time())

    async def list_intake(
        self, *, source: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[IntakeItem]:
        return await self._tx(il.list_intake, source, limit, offset)
