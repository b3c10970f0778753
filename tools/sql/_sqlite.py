"""Statements on SQLite (sqlite3, in a worker thread): the database enforces read-only and time.

A read opens the file with a `mode=ro` URI (and `PRAGMA query_only`), refuses ATTACH (it would
reach other files), and a progress handler interrupts the statement at its deadline. Rows are
stepped one by one, so only `max_rows + 1` are ever produced. A write opens `mode=rw` (a
missing file is an error, never a new empty database) inside `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from tools.connector import TransientFailure
from tools.sql._database import Ledger, Statement, rejected, replayed, timed_out
from tools.sql._results import render, take

_STEPS = 1000  # VM instructions between deadline checks


class SqliteDatabase:
    def __init__(self, url: str, *, system: str, connect_timeout: float) -> None:
        self._path = Path(url.removeprefix("sqlite:///"))
        self.system = system
        self.where = f"sqlite:///{self._path}"
        self._connect_timeout = connect_timeout

    async def read(self, statement: Statement) -> dict[str, Any]:
        return await asyncio.to_thread(self._guarded, statement, None, read=True)

    async def write(self, statement: Statement, ledger: Ledger | None) -> dict[str, Any]:
        return await asyncio.to_thread(self._guarded, statement, ledger, read=False)

    def _guarded(
        self, statement: Statement, ledger: Ledger | None, *, read: bool
    ) -> dict[str, Any]:
        try:
            conn = sqlite3.connect(
                f"{self._path.resolve().as_uri()}?mode={'ro' if read else 'rw'}",
                uri=True,
                timeout=min(self._connect_timeout, statement.timeout),
                isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise TransientFailure(f"cannot open {self.where}: {exc}", sent=False) from exc
        deadline = time.monotonic() + statement.timeout
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _STEPS)
        try:
            return self._read(conn, statement) if read else self._write(conn, statement, ledger)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if text == "interrupted" or time.monotonic() > deadline:
                raise timed_out(self, statement, "interrupted by SQLite") from exc
            if "locked" in text or "busy" in text:
                raise TransientFailure(f"{text} (nothing written)", sent=False) from exc
            if "readonly" in text:
                raise rejected(
                    self, statement, f"tried to change data on a read-only connection: {text}"
                ) from exc
            raise rejected(self, statement, f"refused by SQLite: {text}") from exc
        except sqlite3.Error as exc:
            raise rejected(self, statement, f"refused by SQLite: {exc}") from exc
        finally:
            conn.close()

    def _read(self, conn: sqlite3.Connection, statement: Statement) -> dict[str, Any]:
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(_no_attach)
        cursor = _execute(conn, statement)
        fetched = cursor.fetchmany(statement.max_rows + 1)
        columns = [d[0] for d in cursor.description or ()]
        return render(statement.name, take(columns, fetched, statement.max_rows))

    def _write(
        self, conn: sqlite3.Connection, statement: Statement, ledger: Ledger | None
    ) -> dict[str, Any]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if ledger is not None:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {ledger.table} (query TEXT NOT NULL, "
                    "key TEXT NOT NULL, result TEXT, created_at TEXT NOT NULL DEFAULT "
                    "CURRENT_TIMESTAMP, PRIMARY KEY (query, key))"
                )
                claimed = conn.execute(
                    f"INSERT OR IGNORE INTO {ledger.table} (query, key) VALUES (?, ?)",
                    (statement.name, ledger.key),
                )
                if claimed.rowcount == 0:
                    stored = conn.execute(
                        f"SELECT result FROM {ledger.table} WHERE query = ? AND key = ?",
                        (statement.name, ledger.key),
                    ).fetchone()
                    conn.execute("ROLLBACK")
                    return replayed(stored[0] if stored else None, statement, ledger)
            cursor = _execute(conn, statement)
            fetched = cursor.fetchall() if cursor.description else []
            columns = [d[0] for d in cursor.description or ()]
            rows = replace(take(columns, fetched, statement.max_rows), affected=cursor.rowcount)
            result = render(statement.name, rows)
            if ledger is not None:
                result["replayed"] = False
                conn.execute(
                    f"UPDATE {ledger.table} SET result = ? WHERE query = ? AND key = ?",
                    (json.dumps(result), statement.name, ledger.key),
                )
            conn.execute("COMMIT")
            return result
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _execute(conn: sqlite3.Connection, statement: Statement) -> sqlite3.Cursor:
    if statement.params is None:
        return conn.execute(statement.sql)
    return conn.execute(statement.sql, _bindable(statement.params))


def _bindable(params: Mapping[str, Any]) -> dict[str, Any]:
    """SQLite has no decimal or date type: bind them as text, which column affinity converts."""

    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        return value

    return {name: convert(value) for name, value in params.items()}


def _no_attach(action: int, *_: Any) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK
