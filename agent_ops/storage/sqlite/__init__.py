"""The embedded backend: one SQLite file in WAL mode, shared with LangGraph's SQLite checkpointer.

One connection serves both, one function at a time: each of our transactions and each checkpoint
operation is one call. A call runs on the event loop itself while the database thread has no work
(no thread hop, no hand-off of the GIL; README, Benchmarks: 144 -> 228 runs/s at 16 clients), and
on the database thread, behind the work queued there, otherwise; a call finding the file locked
by another process goes to that thread too, to wait for the lock there, never on the loop.
Wake-ups stay in this process; other processes on the same file (a
second `serve`, `migrate`) are safe (SQLite locks the file) and find new runs by polling.
Scale out on PostgreSQL.

The modules here mirror `postgres/` name for name and function for function; the rules they
apply live above both (`_policy`, `_records`, `_store`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
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
from agent_ops.storage.sqlite.link import BUSY_TIMEOUT_MS, ThreadedSqliteSaver, connect, migrate
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
        self._queued = 0  # calls given to the thread and not yet done there
        self._queued_lock = threading.Lock()
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
            self._conn = await self._on_thread(lambda: connect(self.path))
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._conn.execute("PRAGMA busy_timeout=0")  # calls on the loop never wait (`_run`)
        self._saver = ThreadedSqliteSaver(
            self._conn, self._run, serde=checkpoint_serializer(self._keyring)
        )
        await self._run(self._saver.setup)
        await self._tx(lambda tx: migrate(tx.conn))

    async def close(self) -> None:
        if self._conn is not None:
            await self._on_thread(self._conn.close)  # after whatever is queued there
            self._conn = None
            self._saver = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the connection: here, if the database thread has no work, else there."""
        # A yield point, as the hop to the thread was: a caller making many calls in a row
        # leaves the loop to other tasks (streams, heartbeats) between them.
        await asyncio.sleep(0)
        conn = self._conn
        if conn is None:
            raise _policy.not_open()
        if self._queued == 0:
            # Nothing runs on the thread and only this loop gives it work: the connection is
            # free until `fn` returns. Here SQLite does not wait for a lock (busy timeout 0):
            # a file locked by another process answers at once, before anything was written,
            # and the call goes to the thread to wait for the lock there.
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _locked(exc):
                    raise
                if conn.in_transaction:
                    conn.rollback()
        return await self._on_thread(lambda: _waiting_for_locks(conn, fn))

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the database thread, after the calls queued there."""
        if self._thread is None:
            raise _policy.not_open()
        with self._queued_lock:
            self._queued += 1
        try:
            done = self._thread.submit(fn)
        except BaseException:
            self._left()
            raise
        # Counted out once `fn` has returned there (or was cancelled before it started), not
        # when a cancelled caller stops waiting: until then the connection is the thread's.
        done.add_done_callback(lambda _: self._left())
        return await asyncio.wrap_future(done)

    def _left(self) -> None:
        with self._queued_lock:
            self._queued -= 1

    async def _tx(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run `fn(tx, *args)` as one IMMEDIATE transaction (one `_run` call)."""
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


def _waiting_for_locks(conn: sqlite3.Connection, fn: Callable[[], T]) -> T:
    """Call `fn` (on the database thread) waiting up to the busy timeout for locks."""
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return fn()
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _locked(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for a lock another connection holds (SQLITE_BUSY)."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or "locked" in str(exc)


def _missing_folder(path: str) -> Path | None:
    """The database's folder when it does not exist (a clear error beats sqlite's)."""
    parent = Path(path).expanduser().resolve().parent
    return None if parent.is_dir() else parent
