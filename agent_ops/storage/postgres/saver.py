"""LangGraph's PostgreSQL checkpointer with each save in one statement: the same rows in the same
tables as the official `AsyncPostgresSaver`, in fewer round trips.

The official saver sends one statement per blob and one per pending write (pipelined, behind a
process-wide lock and a thread hop for serialising). Here a checkpoint with its blobs is one
statement (the blobs as `unnest` arrays in a data-modifying CTE) and a task's writes are one
statement, run in autocommit on a pool connection of their own. Rows are built by the parent's
own code (`_dump_blobs`, `_dump_writes`, the same inline/blob split and JSONB), so what is stored
does not depend on which saver wrote it; tests/storage/test_lean_saver.py compares the two row
for row. Reads are the parent's queries, on a pool without its process-wide lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

__all__ = ["LeanPostgresSaver"]

_T = TypeVar("_T")

# The official UPSERT_CHECKPOINT_BLOBS_SQL (blobs DO NOTHING) and UPSERT_CHECKPOINTS_SQL
# (checkpoint DO UPDATE checkpoint and metadata) as one statement. A data-modifying CTE runs to
# completion whether or not the outer query reads it.
PUT_SQL: Final = """
WITH blobs AS (
  INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
  SELECT %(thread_id)s::text, %(ns)s::text, b.channel, b.version, b.type, b.blob
  FROM unnest(%(channels)s::text[], %(versions)s::text[], %(types)s::text[], %(blobs)s::bytea[])
    AS b(channel, version, type, blob)
  ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
)
INSERT INTO checkpoints
  (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
VALUES (%(thread_id)s::text, %(ns)s::text, %(id)s, %(parent)s, %(checkpoint)s, %(metadata)s)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata
"""

_WRITES_SQL: Final = """
INSERT INTO checkpoint_writes
  (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
SELECT %(thread_id)s::text, %(ns)s::text, %(checkpoint_id)s::text, %(task_id)s::text,
  %(task_path)s::text, w.idx, w.channel, w.type, w.blob
FROM unnest(%(idx)s::int[], %(channels)s::text[], %(types)s::text[], %(blobs)s::bytea[])
  AS w(idx, channel, type, blob)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
"""
# The official UPSERT_CHECKPOINT_WRITES_SQL and INSERT_CHECKPOINT_WRITES_SQL.
UPSERT_WRITES_SQL: Final = (
    _WRITES_SQL + "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type,"
    " blob = EXCLUDED.blob"
)
INSERT_WRITES_SQL: Final = _WRITES_SQL + "DO NOTHING"

# Values serialised on the event loop when the walk in `_small` finds under this many elements
# and characters; bigger ones in a thread. Measured (README, Benchmarks): the invoice workflow's
# whole state (about 4 KB) dumps in 5 us, a thread hop costs about 35 us; a list of 100 chat
# messages dumps in 0.18 ms, of 400 in 0.73 ms (each message is a Python callback), while
# strings and plain data dump at a few GB/s (unless sealed: AES-EAX is far slower).
INLINE_ITEMS: Final = 256
INLINE_CHARS: Final = 1 << 20


class LeanPostgresSaver(AsyncPostgresSaver):
    """`AsyncPostgresSaver` writing a checkpoint, and a task's writes, in one statement each.

    Built on a pool, each save and read takes its own connection and no process-wide lock (the
    lock is there for one shared connection, which still gets it here). With a pipeline the
    parent's code runs unchanged.
    """

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        checkpoint, new_versions = self._stored(checkpoint, new_versions)
        if self.pipe is not None:
            return await super().aput(config, checkpoint, metadata, new_versions)
        # From here to `blob_versions`, the parent's aput line for line.
        configurable = config["configurable"].copy()
        thread_id = configurable.pop("thread_id")
        checkpoint_ns = configurable.pop("checkpoint_ns")
        checkpoint_id = configurable.pop("checkpoint_id", None)

        copy = checkpoint.copy()
        copy["channel_values"] = copy["channel_values"].copy()
        next_config: RunnableConfig = {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }
        # Primitives stay inline in the checkpoint's JSONB; a delta snapshot leaves a `true`
        # marker there with its value in a blob; everything else goes to blobs.
        blob_values: dict[str, Any] = {}
        for k, v in checkpoint["channel_values"].items():
            if isinstance(v, _DeltaSnapshot):
                blob_values[k] = copy["channel_values"].pop(k)
                copy["channel_values"][k] = True
            elif v is None or isinstance(v, (str, int, float, bool)):
                pass
            else:
                blob_values[k] = copy["channel_values"].pop(k)
        blob_versions = {k: v for k, v in new_versions.items() if k in blob_values}

        rows = await self._dump(
            [blob_values[k] for k in blob_versions],
            self._dump_blobs,
            thread_id,
            checkpoint_ns,
            blob_values,
            blob_versions,
        )
        await self._write(
            PUT_SQL,
            {
                "thread_id": thread_id,
                "ns": checkpoint_ns,
                **_columns(rows, 2, ("channels", "versions", "types", "blobs")),
                "id": checkpoint["id"],
                "parent": checkpoint_id,
                "checkpoint": Jsonb(copy),
                "metadata": Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
            },
        )
        return next_config

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        if self.pipe is not None:
            return await super().aput_writes(config, writes, task_id, task_path)
        # The parent's rule: only a batch of special writes (error, interrupt, resume,
        # scheduled), each with a fixed idx, replaces what a retried task wrote before.
        upsert = all(w[0] in WRITES_IDX_MAP for w in writes)
        configurable = config["configurable"]
        rows = await self._dump(
            [value for _, value in writes],
            self._dump_writes,
            configurable["thread_id"],
            configurable["checkpoint_ns"],
            configurable["checkpoint_id"],
            task_id,
            task_path,
            writes,
        )
        # Special channels share a fixed idx, so one batch can hold a key twice. The parent's
        # row-by-row statements leave the last row of a key (upsert) or the first (insert); one
        # statement may not touch a row twice, so that row is chosen here.
        by_idx: dict[int, tuple[Any, ...]] = {}
        for row in rows if upsert else reversed(rows):
            by_idx[row[5]] = row
        kept = list(by_idx.values()) if upsert else list(reversed(by_idx.values()))
        if not kept:
            return
        await self._write(
            UPSERT_WRITES_SQL if upsert else INSERT_WRITES_SQL,
            {
                "thread_id": configurable["thread_id"],
                "ns": configurable["checkpoint_ns"],
                "checkpoint_id": configurable["checkpoint_id"],
                "task_id": task_id,
                "task_path": task_path,
                **_columns(kept, 5, ("idx", "channels", "types", "blobs")),
            },
        )

    def _dumps_on_loop(self, values: list[Any]) -> bool:
        """Whether to serialise `values` on the event loop rather than in a thread."""
        return _small(values)

    async def _dump(self, values: list[Any], dump: Callable[..., _T], *args: Any) -> _T:
        """Call `dump(*args)`, which serialises `values`, here or in a thread."""
        if self._dumps_on_loop(values):
            return dump(*args)
        return await asyncio.to_thread(dump, *args)

    def _stored(
        self, checkpoint: Checkpoint, new_versions: ChannelVersions
    ) -> tuple[Checkpoint, ChannelVersions]:
        """The checkpoint and new versions to store for those given: the same ones here; a
        subclass may wrap values (and widen the versions) before they are split and dumped."""
        return checkpoint, new_versions

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        """The parent's cursor (reads, deletes, pruning), without its process-wide lock on a
        pool: there each cursor has a connection of its own, and the lock would make every read
        of the process wait for the one before, deserialising included."""
        if pipeline or not isinstance(self.conn, AsyncConnectionPool):
            async with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        async with (
            self.conn.connection() as conn,
            conn.cursor(binary=True, row_factory=dict_row) as cur,
        ):
            yield cur

    async def _write(self, sql: str, params: dict[str, Any]) -> None:
        """Run one statement, atomic by itself: in autocommit, or in its own transaction."""
        if isinstance(self.conn, AsyncConnectionPool):
            # The pool ends the connection's transaction on return, if it has one open.
            async with self.conn.connection() as conn:
                await conn.execute(sql, params)
            return
        async with self.lock:  # one connection serves one statement at a time
            await _execute_alone(self.conn, sql, params)


def _columns(rows: Sequence[tuple[Any, ...]], first: int, names: Sequence[str]) -> dict[str, Any]:
    """The dumped rows' columns from `first` on, one array each for `unnest`, by name."""
    return {name: [row[first + i] for row in rows] for i, name in enumerate(names)}


async def _execute_alone(conn: AsyncConnection[Any], sql: str, params: dict[str, Any]) -> None:
    if conn.autocommit:
        await conn.execute(sql, params)
    else:
        async with conn.transaction():
            await conn.execute(sql, params)


def _small(values: list[Any]) -> bool:
    """Whether `values` and their elements hold under INLINE_ITEMS elements and INLINE_CHARS
    characters.

    Two levels only, stopping once over: a full walk costs more than the dump of a small state.
    Deeper data (a message's content, a nested list) is not weighed; the count of elements above
    it still sends a long conversation to a thread."""
    items, chars = INLINE_ITEMS, INLINE_CHARS
    level = values
    for _ in range(2):
        below: list[Any] = []
        for value in level:
            if isinstance(value, (str, bytes, bytearray)):
                chars -= len(value)
            elif isinstance(value, (dict, list, tuple, set, frozenset)):
                items -= len(value)
                if items < 0:
                    return False
                below.extend(value.values() if isinstance(value, dict) else value)
            if chars < 0:
                return False
        level = below
    return True
