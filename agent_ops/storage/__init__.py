"""Storage: one interface (`Storage`) over the embedded SQLite file and PostgreSQL.

Layout, top to bottom: `protocol` (one small protocol per concept, `Storage` composed of them)
and `records` (the rows as values); `_store`/`_resources` (the methods written once: defaults,
ids, requests), `_policy` (the queue's rules and error texts), `_records` (rows to records),
`_wakeups` (the transaction that collects wake-ups, the listeners); then `sqlite/` and
`postgres/`, mirrored module for module, holding SQL and nothing else. Imports only
`agent_ops.errors` and `agent_ops.types` from the rest of agent-ops.
"""

from __future__ import annotations

from agent_ops.storage.protocol import (
    CHANNELS,
    RUN_CANCEL,
    RUN_DONE,
    RUN_EVENTS,
    RUN_QUEUED,
    THREAD_EVENTS,
    Assistants,
    Crons,
    Decisions,
    Events,
    Intake,
    Items,
    Lifecycle,
    Runs,
    Storage,
    Threads,
    Wakeups,
    Workers,
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

__all__ = [
    "CHANNELS",
    "RUN_CANCEL",
    "RUN_DONE",
    "RUN_EVENTS",
    "RUN_QUEUED",
    "THREAD_EVENTS",
    "Assistant",
    "Assistants",
    "Cron",
    "Crons",
    "Decisions",
    "Events",
    "Intake",
    "IntakeEntry",
    "IntakeItem",
    "Items",
    "LeaseState",
    "Lifecycle",
    "ModelDecision",
    "QueueStats",
    "Run",
    "RunEvent",
    "Runs",
    "Storage",
    "StoreItem",
    "Thread",
    "ThreadEvent",
    "Threads",
    "Wakeups",
    "Workers",
    "create_storage",
]


def create_storage(database_url: str, *, pool_size: int = 10) -> Storage:
    """Build the backend named by the URL's scheme; call `await storage.open()` before use."""
    if database_url.startswith("sqlite:///"):
        from agent_ops.storage.sqlite import SqliteStorage

        return SqliteStorage(database_url.removeprefix("sqlite:///"))
    if database_url.startswith(("postgresql://", "postgres://")):
        from agent_ops.storage.postgres import PostgresStorage

        return PostgresStorage(database_url, pool_size=pool_size)
    raise ValueError(f"database URL {database_url!r} is not supported")
