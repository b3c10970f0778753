"""The embedded backend: one SQLite file in WAL mode, shared with LangGraph's SQLite checkpointer.

One connection, owned by one thread, serves both: each of our transactions and each checkpoint
operation is one function run on that thread, so each costs a single thread hop and none can
interleave with another. Wake-ups stay in this process; other processes on the same file (a
second `serve`, `migrate`) are safe (SQLite locks the file) and find new runs by polling.
Scale out on PostgreSQL.

The modules here mirror `postgres/` name for name and function for function; the rules they
apply live above both (`_policy`, `_records`, `_store`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from agent_ops.errors import StorageError
from agent_ops.storage import _policy
from agent_ops.storage._sql import modules
from agent_ops.storage._wakeups import Listeners
from agent_ops.storage.channels import Listener
from agent_ops.storage.encryption import checkpoint_serializer
from agent_ops.storage.protocol import Storage
from agent_ops.storage.sqlite.link import ThreadedSqliteSaver, connect, migrate
from agent_ops.storage.sqlite.rows import Tx

T = TypeVar("T")

__all__ = ["SqliteStorage"]


class SqliteStorage(Storage):
    """agent-ops storage in one SQLite file."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    _sql = modules(__name__)

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._listeners = Listeners()

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        parent = _missing_folder(self.path)
        if parent is not None:
            raise StorageError(
                f"cannot open SQLite database {self.path!r}: {parent} is not a folder"
            )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-ops-sqlite")
        try:
            self._conn = await self._run(lambda: connect(self.path))
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._saver = ThreadedSqliteSaver(
            self._conn, self._run, serde=checkpoint_serializer(self._keyring)
        )
        await self._run(self._saver.setup)
        await self._tx(lambda tx: migrate(tx.conn))

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
            raise _policy.not_open()
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def _tx(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run `fn(tx, *args)` as one IMMEDIATE transaction on the database thread."""
        conn = self._conn
        if conn is None:
            raise _policy.not_open()

        def run() -> tuple[Any, Tx]:
            conn.execute("BEGIN IMMEDIATE")
            tx = Tx(conn)
            try:
                result = fn(tx, *args)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result, tx

        result, tx = await self._run(run)
        self._listeners.deliver_all(tx.raised())
        return result

    # -- wake-ups -------------------------------------------------------------------------------
    async def notify(self, channel: str, payload: str) -> None:
        self._listeners.deliver(channel, payload)

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        return self._listeners.listen(channel, listener)


def _missing_folder(path: str) -> Path | None:
    """The database's folder when it does not exist (a clear error beats sqlite's)."""
    parent = Path(path).expanduser().resolve().parent
    return None if parent.is_dir() else parent
