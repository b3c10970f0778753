"""Statements on PostgreSQL (psycopg, async): the database enforces read-only and the timeout.

A read runs in `SET TRANSACTION READ ONLY` with a transaction-local `statement_timeout`, and
streams rows (single-row mode), so only `max_rows + 1` rows ever leave the server; the rest of
the query is cancelled. A write runs in one transaction, with its ledger row when it has one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import replace
from typing import Any, cast

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from tools.connector import TransientFailure
from tools.sql._database import Ledger, Statement, rejected, replayed, timed_out
from tools.sql._results import render, take

# Rolled back by the server before anything was kept: repeating is safe even for a write.
_NO_EFFECT = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
)
_SLACK = 2.0  # seconds the client waits past statement_timeout before it gives up on the server


def describe(url: str) -> str:
    """The URL without its password."""
    info = conninfo_to_dict(url)
    host = info.get("host", "localhost")
    port = info.get("port", 5432)
    return f"postgresql://{info.get('user', '')}@{host}:{port}/{info.get('dbname', '')}"


class PostgresDatabase:
    def __init__(self, url: str, *, system: str, connect_timeout: float) -> None:
        self._url = url
        self.system = system
        self.where = describe(url)
        self._connect_timeout = connect_timeout
        self._ledgers_ready: set[str] = set()

    async def read(self, statement: Statement) -> dict[str, Any]:
        async def run(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any]:
            await conn.execute("SET TRANSACTION READ ONLY")
            await _set_timeout(conn, statement.timeout)
            fetched: list[tuple[Any, ...]] = []
            async with conn.cursor() as cur:
                stream = cast(
                    "AsyncGenerator[Any, None]", cur.stream(statement.sql, statement.params)
                )
                async with aclosing(stream):
                    async for row in stream:
                        fetched.append(row)
                        if len(fetched) > statement.max_rows:
                            break  # closing the stream cancels the rest of the query
                columns = [c.name for c in cur.description or ()]
            await conn.rollback()
            return render(statement.name, take(columns, fetched, statement.max_rows))

        return await self._session(statement, run)

    async def write(self, statement: Statement, ledger: Ledger | None) -> dict[str, Any]:
        async def run(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any]:
            await _set_timeout(conn, statement.timeout)
            if ledger is not None:
                await self._ensure_ledger(conn, ledger.table)
                claimed = await conn.execute(
                    f"INSERT INTO {ledger.table} (query, key) VALUES (%s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (statement.name, ledger.key),
                )
                if claimed.rowcount == 0:  # committed by an earlier call (which we waited for)
                    stored = await (
                        await conn.execute(
                            f"SELECT result FROM {ledger.table} WHERE query = %s AND key = %s",
                            (statement.name, ledger.key),
                        )
                    ).fetchone()
                    await conn.rollback()
                    return replayed(stored[0] if stored else None, statement, ledger)
            async with conn.cursor() as cur:
                await cur.execute(statement.sql, statement.params)
                fetched = await cur.fetchmany(statement.max_rows + 1) if cur.description else []
                columns = [c.name for c in cur.description or ()]
                rows = take(columns, fetched, statement.max_rows)
                result = render(statement.name, replace(rows, affected=cur.rowcount))
            if ledger is not None:
                result["replayed"] = False
                await conn.execute(
                    f"UPDATE {ledger.table} SET result = %s WHERE query = %s AND key = %s",
                    (json.dumps(result), statement.name, ledger.key),
                )
            await conn.commit()
            if ledger is not None:
                self._ledgers_ready.add(ledger.table)  # only once its creation is committed
            return result

        return await self._session(statement, run)

    async def _ensure_ledger(self, conn: psycopg.AsyncConnection[Any], table: str) -> None:
        if table in self._ledgers_ready:
            return
        # Two first writes racing on CREATE TABLE IF NOT EXISTS collide in the catalog;
        # a transaction-scoped advisory lock lets the second see the first one's table.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (query text NOT NULL, key text NOT NULL, "
            "result text, created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (query, key))"
        )

    async def _session(self, statement: Statement, run: Any) -> dict[str, Any]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url, connect_timeout=max(1, round(self._connect_timeout))
            )
        except psycopg.OperationalError as exc:
            raise TransientFailure(f"cannot connect: {_first_line(exc)}", sent=False) from exc
        try:
            async with conn:
                result: dict[str, Any] = await asyncio.wait_for(
                    run(conn), statement.timeout + _SLACK
                )
                return result
        except pg_errors.QueryCanceled as exc:
            raise timed_out(self, statement, "cancelled by PostgreSQL") from exc
        except TimeoutError as exc:
            raise timed_out(self, statement, "abandoned (PostgreSQL did not answer)") from exc
        except _NO_EFFECT as exc:
            raise TransientFailure(f"{_first_line(exc)} (rolled back)", sent=False) from exc
        except pg_errors.ReadOnlySqlTransaction as exc:
            raise rejected(
                self,
                statement,
                f"tried to change data in a read-only transaction; PostgreSQL refused: "
                f"{_first_line(exc)}",
            ) from exc
        except psycopg.OperationalError as exc:  # the connection broke mid-call: outcome unknown
            raise TransientFailure(f"connection lost: {_first_line(exc)}", sent=True) from exc
        except psycopg.Error as exc:
            state = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
            raise rejected(
                self, statement, f"refused by PostgreSQL: {_first_line(exc)}{state}"
            ) from exc


async def _set_timeout(conn: psycopg.AsyncConnection[Any], seconds: float) -> None:
    # set_config(..., is_local => true) is SET LOCAL with a bound value
    await conn.execute(
        "SELECT set_config('statement_timeout', %s, true)", (str(max(1, round(seconds * 1000))),)
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
