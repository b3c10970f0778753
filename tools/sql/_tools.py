"""Each named query as a LangChain tool whose argument schema is built from its parameters,
and the optional ad-hoc read-only query tool.

Argument errors are pydantic ValidationErrors titled with the tool's name and naming the
parameter (a ToolNode hands them to the model); database failures are ConnectorErrors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, create_model

from agent_ops.errors import ConnectorUnavailable
from tools.connector import (
    Effect,
    IdempotencyKey,
    RetryPolicy,
    TransientFailure,
    connector_tool,
    with_retries,
)
from tools.sql._config import KEY_PARAM, SQLConfig, SQLParam, SQLQuery, backend
from tools.sql._database import Database, Ledger, Statement
from tools.sql._postgres import PostgresDatabase
from tools.sql._sqlite import SqliteDatabase
from tools.sql._text import parse_sql

_TYPES: dict[str, type] = {
    "str": str,
    "int": int,
    "float": float,
    "decimal": Decimal,
    "bool": bool,
    "date": dt.date,
    "datetime": dt.datetime,
}


def open_database(url: str, *, system: str, connect_timeout: float) -> Database:
    """The Database for a sqlite:/// or postgresql:// URL."""
    if backend(url) == "sqlite":
        return SqliteDatabase(url, system=system, connect_timeout=connect_timeout)
    return PostgresDatabase(url, system=system, connect_timeout=connect_timeout)


def args_schema(tool_name: str, query: SQLQuery) -> type[BaseModel]:
    """A pydantic model of the query's parameters (and its idempotency key, for keyed writes)."""
    fields: dict[str, Any] = {name: _field(param) for name, param in query.params.items()}
    if query.idempotency in ("ledger", "sql"):
        fields[KEY_PARAM] = (IdempotencyKey, ...)
    model: type[BaseModel] = create_model(
        tool_name, __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def _field(param: SQLParam) -> tuple[Any, Any]:
    annotation: Any = _TYPES[param.type]
    info = Field(
        default=None if param.optional else ...,
        description=param.description,
        pattern=param.pattern,
        max_length=param.max_length,
    )
    return (annotation | None if param.optional else annotation), info


class _AdhocArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(min_length=1, max_length=20_000, description="one SQL statement")


def sql_tools(config: SQLConfig) -> list[BaseTool]:
    """Build one tool per named query, plus `<name>_query` when the ad-hoc tool is enabled.

    Each call opens its own connection and closes it, so the tools hold no open resources.
    """
    system = config.name
    policy = RetryPolicy(attempts=config.attempts, backoff=config.backoff)
    db = open_database(
        config.url.get_secret_value(), system=system, connect_timeout=config.connect_timeout
    )
    tools = [_query_tool(db, config, name, query, policy) for name, query in config.queries.items()]
    if config.adhoc.enabled:
        adhoc_db = db
        if config.adhoc.url is not None:
            adhoc_db = open_database(
                config.adhoc.url.get_secret_value(),
                system=system,
                connect_timeout=config.connect_timeout,
            )
        tools.append(_adhoc_tool(adhoc_db, config, policy))
    return tools


def _query_tool(
    db: Database, config: SQLConfig, name: str, query: SQLQuery, policy: RetryPolicy
) -> BaseTool:
    tool_name = f"{config.name}_{name}"
    parsed = parse_sql(query.sql)
    sql = parsed.sqlite if isinstance(db, SqliteDatabase) else parsed.postgres
    binds = parsed.names

    async def call(**kwargs: Any) -> dict[str, Any]:
        values = {bind: kwargs.get(bind) for bind in binds}  # optional ones bind NULL
        statement = Statement(name, sql, values, query.timeout, query.max_rows)
        ledger = None
        if query.idempotency == "ledger":
            ledger = Ledger(config.ledger_table, kwargs[KEY_PARAM])
        if query.effect == "read":
            return await _run(db, statement, "read", policy, lambda: db.read(statement))
        return await _run(db, statement, "write", policy, lambda: db.write(statement, ledger))

    return connector_tool(
        call,
        name=tool_name,
        description=_describe(query),
        args_schema=args_schema(tool_name, query),
        effect=query.effect,
        system=config.name,
    )


def _adhoc_tool(db: Database, config: SQLConfig, policy: RetryPolicy) -> BaseTool:
    adhoc = config.adhoc

    async def query(sql: str) -> dict[str, Any]:
        statement = Statement("query", sql, None, adhoc.timeout, adhoc.max_rows)
        return await _run(db, statement, "read", policy, lambda: db.read(statement))

    return connector_tool(
        query,
        name=f"{config.name}_query",
        description=(
            f"{adhoc.description} The database runs it read-only, stops it after "
            f"{adhoc.timeout:g}s and returns at most {adhoc.max_rows} rows "
            "(`truncated` says when there were more)."
        ),
        args_schema=_AdhocArgs,
        effect="read",
        system=config.name,
    )


async def _run(
    db: Database, statement: Statement, effect: Effect, policy: RetryPolicy, call: Any
) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await with_retries(call, effect=effect, policy=policy)
        return result
    except TransientFailure as failure:
        raise ConnectorUnavailable(
            f"{db.system} query {statement.name!r} failed at {db.where}: {failure}",
            system=db.system,
            url=db.where,
        ) from failure


def _describe(query: SQLQuery) -> str:
    text = query.description.strip()
    if query.effect == "write" and query.idempotency in ("ledger", "sql"):
        text += " Repeating a call with the same idempotency key does not repeat the change."
    return f"{text} Returns at most {query.max_rows} rows (`truncated` says when there were more)."
