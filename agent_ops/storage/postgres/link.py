"""How one process talks to PostgreSQL: connecting, migrating under a lock, and wake-ups.

Wake-ups from other processes arrive on one dedicated LISTEN connection (not from the pool, so
it survives pool resizing and PgBouncer's transaction mode never sees it) and reconnect with
back-off when the link drops; wake-ups sent while it is down are lost, which costs latency only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import psycopg
from langgraph.checkpoint.base import ChannelVersions, Checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from agent_ops.errors import StorageError
from agent_ops.storage._wakeups import Listeners
from agent_ops.storage.encryption import Sealed
from agent_ops.storage.migrations import load_migrations
from agent_ops.storage.postgres.routines import install
from agent_ops.storage.postgres.rows import NOTIFY_CHANNEL
from agent_ops.storage.postgres.runs import ROUTINES
from agent_ops.storage.postgres.saver import LeanPostgresSaver

log = logging.getLogger(__name__)

# Held (per transaction) while migrating, so concurrent `open()`s apply each migration once.
MIGRATION_LOCK: Final = 0x6167_6F70  # "agop"
MIGRATION_WAIT_SECONDS: Final = 120.0
CONNECT_TIMEOUT_SECONDS: Final = 5
LISTEN_APPLICATION_NAME: Final = "agent-ops-listen"

# Autocommit; state changes open explicit transactions. Prepared statements are off here (the
# direct connections: migrations, LISTEN) and on in the pool unless turned off
# (`AGENT_OPS_DATABASE_PREPARED_STATEMENTS=false`) for a PgBouncer in transaction mode that does
# not track them (before 1.21, or `max_prepared_statements = 0`).
PREPARE_THRESHOLD: Final = 5  # psycopg's default: a statement is prepared on its 5th use
CONNECTION_KWARGS: Final[dict[str, Any]] = {
    "autocommit": True,
    "prepare_threshold": None,
    "row_factory": dict_row,
    "connect_timeout": CONNECT_TIMEOUT_SECONDS,
}


class Pool(AsyncConnectionPool[AsyncConnection[DictRow]]):
    """psycopg_pool's pool, except that a connection's return completes even when the task
    returning it is cancelled.

    The pool hands a returned connection to the oldest waiting client under its own lock and
    then that client's, and either can suspend. A cancel landing there (`StreamBus.settle`
    stopping a flusher mid-write, a client leaving, a task group cancelling its other tasks)
    lost the connection: neither pooled nor handed over, yet still counted, so the pool shrank
    for good, and a client already dequeued waited out its timeout (`couldn't get a connection
    after 30.00 sec`). Under 16 clients one process lost 8 of its 10 connections in 90 s. Here
    the return runs in a task of its own, which finishes; the caller still sees its cancellation
    at once. The task costs about 6 us per return (README, Benchmarks); the race is tested in
    tests/storage/test_pool_returns.py.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._returning: set[asyncio.Future[None]] = set()  # the loop holds tasks weakly

    async def putconn(self, conn: AsyncConnection[DictRow]) -> None:
        returning = asyncio.ensure_future(super().putconn(conn))
        self._returning.add(returning)
        returning.add_done_callback(self._returning.discard)
        await asyncio.shield(returning)

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (the parent's signature)
        if self._returning:  # returns still under way land before the pool closes
            await asyncio.wait(list(self._returning), timeout=timeout)
        await super().close(timeout)


def describe(url: str) -> str:
    """Name the server and database of a URL without its password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StorageError(f"database URL is not valid: {exc}") from exc
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


async def connect(url: str, purpose: str = "agent-ops") -> AsyncConnection[DictRow]:
    """Open one connection, or raise StorageError naming the server within the timeout."""
    try:
        return await AsyncConnection.connect(url, application_name=purpose, **CONNECTION_KWARGS)
    except psycopg.OperationalError as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise StorageError(f"cannot connect to PostgreSQL at {describe(url)}: {reason}") from exc


async def migrate(conn: AsyncConnection[DictRow], saver: AsyncPostgresSaver, where: str) -> None:
    """Apply pending migrations and the checkpointer's setup under the migration lock.

    The lock is tried, not awaited: a session blocked inside `pg_advisory_xact_lock` holds a
    snapshot, and the checkpointer's `CREATE INDEX CONCURRENTLY` would wait for it while it
    waits for our lock.
    """
    deadline = asyncio.get_running_loop().time() + MIGRATION_WAIT_SECONDS
    while True:
        async with conn.transaction():
            cur = await conn.execute(
                "SELECT pg_try_advisory_xact_lock(%s) AS locked", (MIGRATION_LOCK,)
            )
            row = await cur.fetchone()
            if row is not None and row["locked"]:
                await _apply_migrations(conn)
                await install(conn, ROUTINES)
                await saver.setup()  # on a pool connection, while this transaction holds the lock
                return
        if asyncio.get_running_loop().time() > deadline:
            raise StorageError(
                f"gave up after {MIGRATION_WAIT_SECONDS:.0f}s waiting for another process"
                f" to finish migrating {where}"
            )
        await asyncio.sleep(0.05)


async def _apply_migrations(conn: AsyncConnection[DictRow]) -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS agent_ops_migrations (version integer PRIMARY KEY,"
        " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    cur = await conn.execute("SELECT version FROM agent_ops_migrations")
    done = {r["version"] for r in await cur.fetchall()}
    for migration in load_migrations("postgres"):
        if migration.version in done:
            continue
        await conn.execute(migration.sql.encode())
        await conn.execute(
            "INSERT INTO agent_ops_migrations (version, name) VALUES (%s, %s)",
            (migration.version, migration.name),
        )
        log.info("applied migration %04d_%s", migration.version, migration.name)


class Wakeups(Listeners):
    """This process's listeners, fed locally after our commits and by LISTEN for the rest."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__()
        self.url = url
        self.token = token  # marks our own NOTIFYs, which were already delivered locally
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening; return once the LISTEN is in place."""
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(ready), name=LISTEN_APPLICATION_NAME)
        try:
            await asyncio.wait_for(ready.wait(), timeout=2 * CONNECT_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise StorageError(f"cannot LISTEN for wake-ups on {describe(self.url)}") from exc

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _on_notify(self, message: str) -> None:
        channel, _, rest = message.partition("|")
        payload, _, token = rest.rpartition("|")
        if token != self.token:
            self.deliver(channel, payload)

    async def _listen(self, ready: asyncio.Event) -> None:
        delay = 0.5
        while True:
            try:
                async with await connect(self.url, LISTEN_APPLICATION_NAME) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    ready.set()
                    delay = 0.5
                    async for note in conn.notifies():
                        self._on_notify(note.payload)
            except (StorageError, psycopg.OperationalError) as exc:
                log.warning(
                    "LISTEN connection to %s lost (%s); reconnecting in %.1fs",
                    describe(self.url),
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)


class SealingPostgresSaver(LeanPostgresSaver):
    """The checkpointer (`LeanPostgresSaver`) keeping no channel value in plain text, for an
    encrypting serializer.

    LangGraph's saver (and so the lean one) leaves str, number, bool and None values inline in the
    checkpoint's JSONB, where its serializer never sees them; sealed, each becomes a blob the
    serializer encrypts.
    """

    def _dumps_on_loop(self, values: list[Any]) -> bool:
        # Sealing a value costs AES-EAX some 100 us (the invoice workflow's state: 0.8 ms), in C
        # that lets go of the GIL: always worth the thread hop.
        return False

    def _stored(
        self, checkpoint: Checkpoint, new_versions: ChannelVersions
    ) -> tuple[Checkpoint, ChannelVersions]:
        values = checkpoint["channel_values"]
        plain = [
            k for k, v in values.items() if v is None or isinstance(v, (str, int, float, bool))
        ]
        if not plain:
            return checkpoint, new_versions
        sealed: Checkpoint = {
            **checkpoint,
            "channel_values": {**values, **{k: Sealed(values[k]) for k in plain}},
        }
        # Every plain value gets its blob, also one unchanged since a checkpoint written before
        # the key was set (then inline, with no blob of its version); existing blobs are kept.
        versions = checkpoint["channel_versions"]
        widened = {**{k: versions[k] for k in plain if k in versions}, **new_versions}
        return sealed, widened
