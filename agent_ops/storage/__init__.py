"""Storage: one interface (`Storage`) over the embedded SQLite file and PostgreSQL."""

from __future__ import annotations

from agent_ops.storage.protocol import (
    CHANNELS,
    RUN_CANCEL,
    RUN_DONE,
    RUN_EVENTS,
    RUN_QUEUED,
    THREAD_EVENTS,
    Storage,
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
    "Cron",
    "IntakeEntry",
    "IntakeItem",
    "LeaseState",
    "ModelDecision",
    "QueueStats",
    "Run",
    "RunEvent",
    "Storage",
    "StoreItem",
    "Thread",
    "ThreadEvent",
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
