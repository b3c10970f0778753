"""How the process holds its SQLite file: the connection, migrations, and LangGraph's official
checkpointer with its async API run on the storage's database thread.

`AsyncSqliteSaver` costs a thread hop per statement and per fetched row (aiosqlite); the sync
`SqliteSaver` does each operation in one call, so running those calls on the single thread that
owns the connection makes each checkpoint operation one hop, serialised with our own
transactions without a lock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite import SqliteSaver

from agent_ops.storage.migrations import load_migrations

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
Runner = Callable[[Callable[[], Any]], Awaitable[Any]]


# How long a call waits for a lock another process holds (on the database thread).
BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> sqlite3.Connection:
    """Open the file in WAL mode; rows are read by column name."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    # Switching a fresh file to WAL needs it to itself, and SQLite answers "database is locked"
    # at once (no busy wait) while another process is creating or migrating the same file:
    # retry within the same 10 s the busy timeout allows.
    give_up = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.executescript(
                f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                " PRAGMA foreign_keys=ON;"
            )
            return conn
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                conn.close()
                raise
            time.sleep(0.05)


def migrate(c: sqlite3.Connection) -> None:
    """Apply pending migrations, inside the caller's IMMEDIATE transaction (so once)."""
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


def _on_db_thread(
    sync: Callable[Concatenate[SqliteSaver, P], T],
) -> Callable[Concatenate[ThreadedSqliteSaver, P], Coroutine[Any, Any, T]]:
    """The async form of a `SqliteSaver` method: the sync one, run on the database thread."""

    async def method(self: ThreadedSqliteSaver, /, *args: P.args, **kwargs: P.kwargs) -> T:
        result: T = await self._run(lambda: sync(self, *args, **kwargs))
        return result

    return method


class ThreadedSqliteSaver(SqliteSaver):
    """`SqliteSaver` whose async methods run its sync ones on the database thread."""

    def __init__(
        self, conn: sqlite3.Connection, run: Runner, *, serde: SerializerProtocol | None = None
    ) -> None:
        super().__init__(conn, serde=serde)
        self._run = run

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items: list[CheckpointTuple] = await self._run(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in items:
            yield item

    # One call on the database thread each: the sync method does the whole operation.
    aget_tuple = _on_db_thread(SqliteSaver.get_tuple)
    aput = _on_db_thread(SqliteSaver.put)
    aput_writes = _on_db_thread(SqliteSaver.put_writes)
    adelete_thread = _on_db_thread(SqliteSaver.delete_thread)
    aget_delta_channel_history = _on_db_thread(SqliteSaver.get_delta_channel_history)
