"""LangGraph's PostgreSQL checkpointer with each save in one statement: the same rows in the same
tables as the official `AsyncPostgresSaver`, in fewer round trips.

The official saver sends one statement per blob and one per pending write (pipelined, behind a
process-wide lock and a thread hop for serialising). Here a checkpoint with its blobs is one
statement (the blobs as `unnest` arrays in a data-modifying CTE) and a task's writes are one
statement, run in autocommit on a pool connection of their own; on a pool, the saves of
concurrent runs share one such statement (`_GroupWriter`). Rows are built by the parent's
own code (`_dump_blobs`, `_dump_writes`, the same inline/blob split and JSONB), so what is stored
does not depend on which saver wrote it; tests/storage/test_lean_saver.py compares the two row
for row. Reads are the parent's queries, on a pool without its process-wide lock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
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
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

__all__ = ["LeanPostgresSaver"]

_T = TypeVar("_T")

# A task's writes as arrays, by name suffix (the parameter is `<side>_<suffix>`) and type.
_WRITE_ARRAYS: Final = (
    ("thread", "text"), ("ns", "text"), ("checkpoint", "text"), ("task", "text"),
    ("path", "text"), ("idx", "int"), ("channel", "text"), ("type", "text"), ("blob", "bytea"),
)  # fmt: skip


def _insert_writes(side: str, conflict: str) -> str:
    """The INSERT of the writes in the `side` arrays, `conflict` deciding what a retry does."""
    arrays = ", ".join(f"%({side}_{name})s::{kind}[]" for name, kind in _WRITE_ARRAYS)
    return (
        "INSERT INTO checkpoint_writes\n"
        "    (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)\n"
        f"  SELECT * FROM unnest({arrays})\n"
        f"  ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) {conflict}"
    )


# One statement for any number of saves: the official UPSERT_CHECKPOINT_BLOBS_SQL (blobs DO
# NOTHING), UPSERT_CHECKPOINT_WRITES_SQL and INSERT_CHECKPOINT_WRITES_SQL (the upsert variant
# for a batch of special writes only) and UPSERT_CHECKPOINTS_SQL (checkpoint DO UPDATE checkpoint
# and metadata), each over arrays. A data-modifying CTE runs to completion whether or not the
# outer query reads it; an empty array inserts nothing.
SAVE_SQL: Final = f"""
WITH blobs AS (
  INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
  SELECT * FROM unnest(%(b_thread)s::text[], %(b_ns)s::text[], %(b_channel)s::text[],
    %(b_version)s::text[], %(b_type)s::text[], %(b_blob)s::bytea[])
  ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
), upserted AS (
  {_insert_writes("u", "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob")}
), inserted AS (
  {_insert_writes("i", "DO NOTHING")}
)
INSERT INTO checkpoints
  (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
SELECT * FROM unnest(%(c_thread)s::text[], %(c_ns)s::text[], %(c_id)s::text[],
  %(c_parent)s::text[], %(c_checkpoint)s::jsonb[], %(c_metadata)s::jsonb[])
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata
"""
_BLOBS: Final = ("b_thread", "b_ns", "b_channel", "b_version", "b_type", "b_blob")
_UPSERTED: Final = tuple(f"u_{name}" for name, _ in _WRITE_ARRAYS)
_INSERTED: Final = tuple(f"i_{name}" for name, _ in _WRITE_ARRAYS)
_CHECKPOINTS: Final = ("c_thread", "c_ns", "c_id", "c_parent", "c_checkpoint", "c_metadata")

# Saves in one group statement at most: a bound on the statement's size, far above the runs
# one process has in flight.
GROUP_MOST: Final = 64

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
    parent's code runs unchanged. On a pool, the saves of concurrent runs share statements
    (`_GroupWriter`).
    """

    def __init__(
        self,
        conn: Any,
        pipe: AsyncPipeline | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(conn, pipe, serde)
        self._group = _GroupWriter(conn) if isinstance(conn, AsyncConnectionPool) else None

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
        await self._save(
            _Save(
                (
                    thread_id,
                    checkpoint_ns,
                    checkpoint["id"],
                    checkpoint_id,
                    Jsonb(copy),
                    Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
                ),
                rows,
                (),
                upsert=False,
            )
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
        await self._save(_Save(None, (), kept, upsert=upsert))

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

    async def _save(self, save: _Save) -> None:
        """Store `save`, atomic by itself: on a pool, in a group statement with the saves of
        other runs that arrive while one is in flight; on one connection, alone."""
        if self._group is not None:
            await self._group.save(save)
            return
        assert isinstance(self.conn, AsyncConnection)
        async with self.lock:  # one connection serves one statement at a time
            await _execute_alone(self.conn, SAVE_SQL, _params([save]))


@dataclass(slots=True, eq=False)
class _Save:
    """One `aput` (a checkpoint row and its blobs) or `aput_writes` (a task's writes) as rows of
    the save statement, and the future its caller waits on."""

    checkpoint: tuple[Any, ...] | None
    blobs: Sequence[tuple[Any, ...]]
    writes: Sequence[tuple[Any, ...]]
    upsert: bool
    done: asyncio.Future[None] = field(init=False)

    def __post_init__(self) -> None:
        self.done = asyncio.get_running_loop().create_future()

    def keys(self) -> set[tuple[Any, ...]]:
        """The primary keys of the rows this save may update (one statement may not touch a row
        twice): a write's thread, namespace, checkpoint, task and idx; a checkpoint's first
        three."""
        keys = {(*row[:4], row[5]) for row in self.writes}
        if self.checkpoint is not None:
            keys.add(self.checkpoint[:3])
        return keys


class _GroupWriter:
    """Saves sent as few statements as they can be (group commit across runs): the first save
    is sent at once; those that arrive while a statement is in flight wait for it and then go
    together, in one statement, on one connection. One statement at a time: more in flight
    would leave fewer saves to share each.

    Each save still commits before its caller goes on, and a failing group is sent again one
    save at a time, so a bad save fails only its own caller. A save whose caller stopped waiting
    (its run was cancelled) before it was sent is dropped. Two saves touching the same row never
    share a statement: the later one waits for the next.
    """

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._flushing = False
        self._pending: deque[_Save] = deque()
        self._tasks: set[asyncio.Task[None]] = set()

    async def save(self, save: _Save) -> None:
        self._pending.append(save)
        if not self._flushing:
            self._flushing = True
            task = asyncio.get_running_loop().create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await save.done

    async def _flush(self) -> None:
        batch: list[_Save] = []
        try:
            while batch := self._take():
                await self._send_settling(batch)
        except BaseException:  # cancelled (the loop is closing), and so are the batch's saves
            for save in batch:
                save.done.cancel()
            raise
        finally:
            self._flushing = False

    async def _send_settling(self, batch: list[_Save]) -> None:
        """Send `batch` and settle each save's future; a failing batch is sent again one save
        at a time, so that only the save that fails fails its caller."""
        try:
            await self._send(batch)
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0].done.done():
                    batch[0].done.set_exception(exc)
                return
            for save in batch:
                await self._send_settling([save])
            return
        for save in batch:
            if not save.done.done():
                save.done.set_result(None)

    def _take(self) -> list[_Save]:
        batch: list[_Save] = []
        keys: set[tuple[Any, ...]] = set()
        later: list[_Save] = []
        while self._pending and len(batch) < GROUP_MOST:
            save = self._pending.popleft()
            if save.done.done():
                continue
            touched = save.keys()
            if keys.isdisjoint(touched):
                batch.append(save)
                keys |= touched
            else:
                later.append(save)
        self._pending.extendleft(reversed(later))
        return batch

    async def _send(self, batch: list[_Save]) -> None:
        # The pool ends the connection's transaction on return, if it has one open.
        async with self._pool.connection() as conn:
            await conn.execute(SAVE_SQL, _params(batch))


def _params(saves: Sequence[_Save]) -> dict[str, Any]:
    """The save statement's arrays for `saves`."""
    return {
        **_arrays([row for s in saves for row in s.blobs], _BLOBS),
        **_arrays([row for s in saves if s.upsert for row in s.writes], _UPSERTED),
        **_arrays([row for s in saves if not s.upsert for row in s.writes], _INSERTED),
        **_arrays([s.checkpoint for s in saves if s.checkpoint is not None], _CHECKPOINTS),
    }


def _arrays(rows: Sequence[tuple[Any, ...]], names: Sequence[str]) -> dict[str, list[Any]]:
    """One array per column of `rows`, by name, for `unnest`."""
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


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
