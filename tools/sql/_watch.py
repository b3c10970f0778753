"""Named queries polled by SQL-threshold triggers (agent_ops/triggers): a read query without
required parameters, run read-only with its own timeout and row limit, rows returned as JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from agent_ops.errors import InvalidInput
from tools.sql._config import SQLConfig
from tools.sql._database import Statement
from tools.sql._sqlite import SqliteDatabase
from tools.sql._text import parse_sql
from tools.sql._tools import open_database

__all__ = ["query_runner"]


def query_runner(
    configs: Mapping[str, SQLConfig],
) -> Callable[[str, str], Awaitable[Sequence[dict[str, Any]]]]:
    """A runner of `configs`' named read queries: `await run(connection, query)` -> rows."""

    async def run(connection: str, query: str) -> Sequence[dict[str, Any]]:
        config = configs.get(connection)
        if config is None:
            raise InvalidInput(
                f"connection: no SQL connector {connection!r} (configured: {sorted(configs)})"
            )
        named = config.queries.get(query)
        if named is None:
            raise InvalidInput(
                f"query: {connection} has no named query {query!r} "
                f"(it has: {sorted(config.queries)})"
            )
        if named.effect != "read" or any(not p.optional for p in named.params.values()):
            raise InvalidInput(f"query: {query!r} must be a read query without required params")
        db = open_database(
            config.url.get_secret_value(),
            system=config.name,
            connect_timeout=config.connect_timeout,
        )
        parsed = parse_sql(named.sql)
        sql = parsed.sqlite if isinstance(db, SqliteDatabase) else parsed.postgres
        statement = Statement(
            query, sql, {b: None for b in parsed.names}, named.timeout, named.max_rows
        )
        result = await db.read(statement)
        rows: list[dict[str, Any]] = result["rows"]
        return rows

    return run
