"""SQL connector: named, parameterised queries on PostgreSQL or SQLite, and an optional
read-only ad-hoc query tool, declared in an `SQLConfig` and built by `sql_tools(config)`.

Read-only, timeouts and row limits are enforced by the database (a read-only transaction or
connection, `statement_timeout` or a progress handler, rows streamed and cut at `max_rows`),
never by inspecting the SQL.
"""

from tools.sql._config import AdhocConfig, SQLConfig, SQLParam, SQLQuery
from tools.sql._tools import sql_tools
from tools.sql._watch import query_runner

__all__ = ["AdhocConfig", "SQLConfig", "SQLParam", "SQLQuery", "query_runner", "sql_tools"]
