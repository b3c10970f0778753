"""The scale-out backend: PostgreSQL shared by any number of `serve` and `worker` processes.

One psycopg pool per process serves our queries and the checkpointer (`saver`). Every
connection is in autocommit; a state change is one explicit transaction, or one call of a
routine (`routines.py`) that locks and then writes on the server. The pool prepares
repeated statements, which a PgBouncer in transaction mode needs 1.21+ for (or the setting off). Wake-ups travel as
`NOTIFY agent_ops` on commit and come back through one dedicated LISTEN connection per process.

The modules here mirror `sqlite/` name for name and function for function; the rules they
apply live above both (`_policy`, `_records`, `_store`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.array import ListBinaryDumper
from psycopg.types.json import set_json_loads
from psycopg_pool import PoolTimeout

from agent_ops.errors import StorageError
from agent_ops.storage import _policy
from agent_ops.storage._sql import modules
from agent_ops.storage.channels import Listener
from agent_ops.storage.encryption import checkpoint_serializer
from agent_ops.storage.postgres.link import (
    CONNECT_TIMEOUT_SECONDS,
    CONNECTION_KWARGS,
    PREPARE_THRESHOLD,
    Pool,
    SealingPostgresSaver,
    Wakeups,
    connect,
    describe,
    migrate,
)
from agent_ops.storage.postgres.rows import Tx, send_pending
from agent_ops.storage.postgres.saver import LeanPostgresSaver
from agent_ops.storage.protocol import Storage

__all__ = ["PostgresStorage"]


class PostgresStorage(Storage):
    """agent-ops storage in one PostgreSQL database."""

    backend: Literal["sqlite", "postgres"] = "postgres"
    _sql = modules(__name__)

    def __init__(self, url: str, *, pool_size: int = 10, prepared_statements: bool = True) -> None:
        self.url = url
        self.pool_size = pool_size
        # The pool's connections prepare a statement on its PREPARE_THRESHOLD-th use (one-offs
        # such as migrations and the saver's setup never are); off, every statement is parsed
        # and planned anew, which is half of PostgreSQL's CPU per run.
        threshold = PREPARE_THRESHOLD if prepared_statements else None
        self._pool_kwargs = {**CONNECTION_KWARGS, "prepare_threshold": threshold}
        self._where = describe(url)
        self._wakeups = Wakeups(url, token=uuid.uuid4().hex)
        self._pool: Pool | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        # One direct connection first: a wrong URL fails here within the connect timeout,
        # where the pool would keep retrying in the background.
        conn = await connect(self.url)
        try:
            async with conn:
                self._pool = Pool(
                    self.url,
                    kwargs=self._pool_kwargs,
                    min_size=1,
                    max_size=self.pool_size,
                    open=False,
                    name="agent-ops",
                    configure=_configure,
                )
                try:
                    await self._pool.open(wait=True, timeout=2 * CONNECT_TIMEOUT_SECONDS)
                except PoolTimeout as exc:
                    raise StorageError(f"cannot fill the connection pool to {self._where}") from exc
                keys = self._keyring
                saver = SealingPostgresSaver if keys else LeanPostgresSaver
                self._saver = saver(self._pool, serde=checkpoint_serializer(keys))
                await migrate(conn, self._saver, self._where)
            await self._wakeups.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._wakeups.stop()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
            self._saver = None

    async def _tx(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run `fn(tx, *args)` as one transaction (in autocommit if `fn` is marked
        `no_transaction`); its wake-ups go to other processes as one NOTIFY batch inside it, and
        to this process's listeners once it has committed."""
        if self._pool is None:
            raise _policy.not_open()
        try:
            async with self._pool.connection() as conn:
                tx = Tx(conn, token=self._wakeups.token)
                if getattr(fn, "no_transaction", False):
                    result = await fn(tx, *args)
                    await send_pending(tx)
                else:
                    async with conn.transaction():
                        result = await fn(tx, *args)
                        await send_pending(tx)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StorageError(f"PostgreSQL at {self._where} failed: {exc}") from exc
        self._wakeups.deliver_all(tx.raised())
        return result

    # -- wake-ups -------------------------------------------------------------------------------
    async def notify(self, channel: str, payload: str) -> None:
        await self._tx(_notify, channel, payload)

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        return self._wakeups.listen(channel, listener)


async def _notify(tx: Tx, channel: str, payload: str) -> None:
    tx.notify(channel, payload)


async def _configure(conn: AsyncConnection[DictRow]) -> None:
    # jsonb keeps a number's value, not its spelling: 3.5e283 comes back as a 284-digit integer,
    # which json.loads would make a Python int no answer could render. orjson reads integers
    # past 64 bits as floats (the value they were sent as) and parses faster.
    set_json_loads(orjson.loads, conn)
    # Lists go as binary arrays: the text form escapes and quotes every element in Python
    # (a bytea element is hex-encoded first): most of the 13 % of server CPU py-spy found in
    # parameter conversion; binary halves one statement's (73-89 -> 37 us), though per run it
    # is about 1.5 % of server CPU (README, "Lists as binary arrays"). psycopg registers the
    # text dumper last as the more lenient one, for lists of unknown element type: ours carry
    # one type each and every statement names its array's type. An empty list still goes as
    # text (binary needs an element type).
    conn.adapters.register_dumper(list, ListBinaryDumper)
