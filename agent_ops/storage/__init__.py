"""Storage: one interface (`Storage`) over the embedded SQLite file and PostgreSQL.

Layout, top to bottom: `protocol` (`Storage`: one abstract class, one part per concept),
`records` (the rows as values), `queries` (a search's filter and page) and `channels` (the
wake-ups); `_base` (what every part stands
on), `_assistants`/`_threads`/`_crons`/`_items`/`_store` (those parts, each method written once:
defaults, ids, requests), `_policy` (the queue's rules and error texts), `_records` (rows to records),
`_wakeups` (the transaction that collects wake-ups, the listeners); then `sqlite/` and
`postgres/`, mirrored module for module, holding SQL and nothing else. Imports only
`agent_ops.errors` and `agent_ops.types` from the rest of agent-ops.
"""

from __future__ import annotations

from agent_ops.storage import _evals, _outbox, _triggers, channels, protocol, queries, records
from agent_ops.storage._evals import *  # noqa: F403 (its __all__)
from agent_ops.storage._outbox import *  # noqa: F403 (its __all__)
from agent_ops.storage._requests import (
    ALL_NAMESPACES,
    AssistantChanges,
    CronChanges,
    Namespaces,
    NewAssistant,
    NewCron,
)
from agent_ops.storage._triggers import *  # noqa: F403 (its __all__)
from agent_ops.storage.channels import *  # noqa: F403 (its __all__)
from agent_ops.storage.protocol import *  # noqa: F403 (its __all__)
from agent_ops.storage.queries import *  # noqa: F403 (its __all__)
from agent_ops.storage.records import *  # noqa: F403 (its __all__)

# As asyncio's package does: each module names its public part, the package is their union.
__all__ = [
    "ALL_NAMESPACES",
    "AssistantChanges",
    "CronChanges",
    "Namespaces",
    "NewAssistant",
    "NewCron",
    *channels.__all__,
    *protocol.__all__,
    *queries.__all__,
    *records.__all__,
    *_triggers.__all__,
    *_outbox.__all__,
    *_evals.__all__,
    "create_storage",
]


def create_storage(
    database_url: str, *, pool_size: int = 10, prepared_statements: bool = True
) -> protocol.Storage:
    """Build the backend named by the URL's scheme; call `await storage.open()` before use."""
    if database_url.startswith("sqlite:///"):
        from agent_ops.storage.sqlite import SqliteStorage

        return SqliteStorage(database_url.removeprefix("sqlite:///"))
    if database_url.startswith(("postgresql://", "postgres://")):
        from agent_ops.storage.postgres import PostgresStorage

        return PostgresStorage(
            database_url, pool_size=pool_size, prepared_statements=prepared_statements
        )
    raise ValueError(f"database URL {database_url!r} is not supported")
