"""The lean checkpointer stores exactly what LangGraph's official PostgreSQL saver stores.

Each test gives the same saves to both savers, each on a database of its own, and compares the
three tables row for row as PostgreSQL prints them (`row::text`: every column, bytea in hex), so
a column a newer official saver fills and the lean one does not fails here. Graphs run through
LangGraph's own runtime with a saver that hands every save to both, so the inputs are what real
runs produce (interrupts, resumes, fan-out, failures, subgraphs, delta channels), not only what
a test author thought of.
"""

from __future__ import annotations

import asyncio
import operator
import re
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypedDict

import psycopg
import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointTuple,
    empty_checkpoint,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT, RESUME, TASKS, _DeltaSnapshot
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Interrupt, Send, interrupt
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from agent_ops.storage.postgres.link import CONNECTION_KWARGS
from agent_ops.storage.postgres.saver import SAVE_SQL, LeanPostgresSaver
from graphs.invoice import InvoiceState, Policy
from graphs.invoice._state import decision
from tests.invoice.samples import invoice
from tests.pgcluster import PgCluster

pytestmark = pytest.mark.postgres

_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


class RecordingSerializer(JsonPlusSerializer):
    """The default serializer, noting on which thread each value was dumped."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        self.threads.append(threading.get_ident())
        return super().dumps_typed(obj)


async def _pool(url: str) -> AsyncConnectionPool[AsyncConnection[DictRow]]:
    pool = AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        kwargs={**CONNECTION_KWARGS, "prepare_threshold": 5},
        min_size=1,
        max_size=4,
        open=False,
    )
    await pool.open(wait=True)
    return pool


class Tee(LeanPostgresSaver):
    """The lean saver, handing every save to the official saver (on a database of its own)
    first, with the same arguments; reads are the lean saver's."""

    def __init__(self, lean: LeanPostgresSaver, official: AsyncPostgresSaver) -> None:
        super().__init__(lean.conn, serde=lean.serde)
        self.official = official

    async def aput(self, *args: Any, **kwargs: Any) -> RunnableConfig:
        expected = await self.official.aput(*args, **kwargs)
        got = await super().aput(*args, **kwargs)
        assert got == expected
        return got

    async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
        await self.official.aput_writes(*args, **kwargs)
        await super().aput_writes(*args, **kwargs)

    async def assert_same(self, *threads: str) -> None:
        """The same rows in all three tables, and the same checkpoints read back."""
        # Every table, so one a newer official saver writes to is compared too.
        tables = await _tables(self.official)
        assert set(_TABLES) <= tables == await _tables(self)
        for table in sorted(tables):
            assert await _rows(self.official, table) == await _rows(self, table)
        for thread_id in threads:
            config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
            expected = [_comparable(t) async for t in self.official.alist(config)]
            assert expected, f"no checkpoints on thread {thread_id}"
            assert [_comparable(t) async for t in self.alist(config)] == expected
            for namespace in {t.config["configurable"]["checkpoint_ns"] for t in expected}:
                ns_config: RunnableConfig = {
                    "configurable": {"thread_id": thread_id, "checkpoint_ns": namespace}
                }
                latest = await self.official.aget_tuple(ns_config)
                assert _comparable(await self.aget_tuple(ns_config)) == _comparable(latest)


def _comparable(found: CheckpointTuple | None) -> Any:
    # An error write loads as a fresh exception object, equal to another only by identity.
    if found is None:
        return None
    writes = [
        (t, c, repr(v) if isinstance(v, Exception) else v) for t, c, v in found.pending_writes or []
    ]
    return found._replace(pending_writes=writes)


async def _rows(saver: AsyncPostgresSaver, table: str) -> list[str]:
    """The table's rows as PostgreSQL prints them (all columns), in order."""
    assert isinstance(saver.conn, AsyncConnectionPool)
    async with saver.conn.connection() as conn:
        cur = await conn.execute(f'SELECT t::text AS row FROM "{table}" t ORDER BY 1')
        return [r["row"] for r in await cur.fetchall()]


async def _tables(saver: AsyncPostgresSaver) -> set[str]:
    assert isinstance(saver.conn, AsyncConnectionPool)
    async with saver.conn.connection() as conn:
        cur = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {r["table_name"] for r in await cur.fetchall()}


@pytest.fixture
async def tee(pg_cluster: PgCluster) -> AsyncIterator[Tee]:
    pools = [await _pool(pg_cluster.create_database(f"test_{uuid.uuid4().hex}")) for _ in range(2)]
    serde = RecordingSerializer()
    official = AsyncPostgresSaver(pools[0], serde=serde)
    made = Tee(LeanPostgresSaver(pools[1], serde=serde), official)
    await official.setup()
    await made.setup()
    yield made
    for pool in pools:
        await pool.close()


def _config(thread_id: str, checkpoint_id: str | None = None, ns: str = "") -> RunnableConfig:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _checkpoint(values: dict[str, Any], versions: dict[str, str]) -> Checkpoint:
    made = empty_checkpoint()
    made["channel_values"] = values
    made["channel_versions"] = versions
    return made


# -- the official saver's SQL: what the lean one was written against -----------------------------


def _insert(sql: str) -> tuple[str, str, str]:
    """The table, the column list and the ON CONFLICT clause of an INSERT, spaces normalised."""
    found = re.search(
        r"INSERT INTO (\w+)\s*\(([^)]*)\).*?(ON CONFLICT.*?)(?:;|\)\s*INSERT|$)", sql, re.S
    )
    assert found is not None, sql
    table, columns, conflict = found.groups()
    return table, " ".join(columns.split()), " ".join(conflict.split())


def test_the_lean_statements_insert_the_official_columns_with_its_conflict_rules() -> None:
    # A new migration, column or conflict rule in a newer official saver fails here: re-read its
    # aput and aput_writes, then update saver.py (and the versions README names).
    assert len(AsyncPostgresSaver.MIGRATIONS) == 10
    blobs, upserted, inserted, checkpoints = re.split(r"\n\)(?:, \w+ AS \()?\n", SAVE_SQL)
    assert _insert(blobs) == _insert(AsyncPostgresSaver.UPSERT_CHECKPOINT_BLOBS_SQL)
    assert _insert(upserted) == _insert(AsyncPostgresSaver.UPSERT_CHECKPOINT_WRITES_SQL)
    assert _insert(inserted) == _insert(AsyncPostgresSaver.INSERT_CHECKPOINT_WRITES_SQL)
    assert _insert(checkpoints) == _insert(AsyncPostgresSaver.UPSERT_CHECKPOINTS_SQL)


# -- saves made by hand: each branch of the official saver's code -------------------------------


async def test_checkpoints_with_inline_values_blobs_and_snapshots_store_the_official_rows(
    tee: Tee,
) -> None:
    thread = str(uuid.uuid4())
    values = {
        "text": "hello",
        "count": 3,
        "ratio": 1.5,
        "flag": True,
        "nothing": None,
        "doc": {"lines": [1, 2, 3], "note": "ünïcode"},
        "messages": [HumanMessage("hi", id="m1"), AIMessage("hello", id="m2")],
        "delta": _DeltaSnapshot(["a", "b"]),
        "unchanged": {"kept": True},
    }
    versions = {k: f"{i:032}.0.5" for i, k in enumerate([*values, "empty"], start=1)}
    # "unchanged" has no new version (its blob is an earlier one's); "empty" has no value.
    new_versions = {k: v for k, v in versions.items() if k != "unchanged"}
    first = _checkpoint(values, versions)
    parent = await tee.aput(_config(thread), first, {"source": "input", "step": -1}, new_versions)
    second = _checkpoint({"text": "again", "messages": values["messages"]}, versions)
    await tee.aput(parent, second, {"source": "loop", "step": 0, "note": None}, {})
    await tee.assert_same(thread)


async def test_a_checkpoint_saved_again_keeps_its_blobs_and_takes_the_new_metadata(
    tee: Tee,
) -> None:
    thread = str(uuid.uuid4())
    versions = {"doc": "1.0.1", "text": "1.0.2"}
    saved = _checkpoint({"doc": {"v": 1}, "text": "a"}, versions)
    await tee.aput(_config(thread), saved, {"step": 0}, versions)
    # The same ids with other values: the blob row stays, the checkpoint row is replaced.
    again = {**saved, "channel_values": {"doc": {"v": 2}, "text": "b"}}
    await tee.aput(_config(thread), again, {"step": 1, "source": "update"}, versions)
    await tee.aput(_config(thread), again, {"step": 1, "source": "update"}, versions)
    await tee.assert_same(thread)


async def test_writes_take_the_insert_or_upsert_variant_as_the_official_saver_does(
    tee: Tee,
) -> None:
    thread = str(uuid.uuid4())
    config = await tee.aput(_config(thread), _checkpoint({}, {}), {"step": -1}, {})
    ordinary = [("text", "x"), ("doc", {"a": 1}), ("none", None), ("big", "y" * 200_000)]
    await tee.aput_writes(config, ordinary, "task-1", "~path")
    # Ordinary writes again under the same idx: the first ones stay (DO NOTHING).
    await tee.aput_writes(config, [("text", "changed"), ("doc", {"a": 2})], "task-1", "~path")
    # Special writes alone are upserted, a retried task's error replacing the earlier one.
    await tee.aput_writes(config, [(ERROR, ValueError("first"))], "task-2")
    await tee.aput_writes(config, [(ERROR, ValueError("second"))], "task-2")
    await tee.aput_writes(config, [(INTERRUPT, [Interrupt(value={"ask": 1}, id="i1")])], "t3")
    # One batch with a special channel twice: row by row, the last (upsert) or first (insert)
    # of a fixed idx is what remains.
    await tee.aput_writes(config, [(RESUME, "yes"), (RESUME, "no")], "task-4")
    await tee.aput_writes(
        config, [("text", 1), (ERROR, KeyError("a")), (ERROR, KeyError("b"))], "t5"
    )
    await tee.aput_writes(config, [(TASKS, Send("node", {"n": 1})), (TASKS, Send("node", 2))], "t6")
    await tee.aput_writes(config, [], "task-7")
    await tee.assert_same(thread)


async def test_small_values_are_dumped_on_the_loop_and_big_ones_in_a_thread(tee: Tee) -> None:
    lean = LeanPostgresSaver(tee.conn, serde=tee.serde)
    serde = tee.serde
    assert isinstance(serde, RecordingSerializer)
    loop_thread = threading.get_ident()
    config = _config(str(uuid.uuid4()))
    conversation = [HumanMessage(f"message {i}", id=str(i)) for i in range(100)]
    small = {"doc": {"lines": list(range(50)), "text": "z" * 100_000}, "messages": conversation}
    serde.threads.clear()
    config = await lean.aput(config, _checkpoint(small, {}), {}, {"doc": "1", "messages": "1"})
    await lean.aput_writes(config, [("doc", {"n": 1}), ("messages", conversation[:3])], "t")
    assert serde.threads == [loop_thread] * 4

    long_conversation = conversation * 3
    for big in ({"doc": {"text": "z" * (2 << 20)}}, {"messages": long_conversation}):
        serde.threads.clear()
        channel = next(iter(big))
        config = await lean.aput(config, _checkpoint(big, {}), {}, {channel: "2"})
        await lean.aput_writes(config, list(big.items()), "t")
        assert len(serde.threads) == 2
        assert loop_thread not in serde.threads


# -- saves made by real runs: LangGraph's runtime drives both savers ----------------------------


async def test_an_invoice_review_interrupted_and_resumed_stores_the_official_rows(
    tee: Tee,
) -> None:
    def receive(state: InvoiceState) -> dict[str, Any]:
        return {
            "status": "received",
            "sender": "ap@northwind.example",
            "policy": Policy().model_dump(mode="json"),  # as the workflow's receive step keeps it
            "decisions": [decision("receive", "received", "mail with one PDF", "rules")],
        }

    def extract(state: InvoiceState) -> dict[str, Any]:
        return {
            "extraction": {"method": "text", "confidence": 0.93, "problems": []},
            "decisions": [decision("extract", "read", "all fields found", "model:extractor")],
        }

    def match(state: InvoiceState) -> dict[str, Any]:
        return {
            "match": {"po": "PO-00001", "findings": ["price_mismatch"], "lines": 2},
            "claim": None,
            "decisions": [decision("match", "needs_review", "price differs by 2%", "rules")],
        }

    def review(state: InvoiceState) -> dict[str, Any]:
        answer = interrupt({"question": "approve?", "invoice": state["invoice"]["invoice_number"]})
        status = "approved" if answer["approve"] else "rejected"
        return {
            "status": status,
            "reason": answer["note"],
            "decisions": [decision("review", status, answer["note"], "person:ap-clerk")],
        }

    def book(state: InvoiceState) -> dict[str, Any]:
        return {
            "status": "booked",
            "erp": {"invoice_id": 17, "invoice_number": "SUP-17", "amount": "520.00"},
            "notifications": [{"to": state["sender"], "subject": "booked"}],
        }

    builder = StateGraph(InvoiceState)
    builder.add_sequence([receive, extract, match, review, book])
    builder.add_edge(START, "receive")
    graph = builder.compile(checkpointer=tee)

    thread = str(uuid.uuid4())
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    sample = invoice(
        "INV-1001",
        "PO-00001",
        [("BOLT-M8", "Bolt M8", 400, "0.25"), ("WIRE-CU25", "Copper wire", 300, "1.40")],
    )
    paused = await graph.ainvoke({"invoice": sample}, config)
    assert paused["__interrupt__"][0].value["invoice"] == "INV-1001"
    done = await graph.ainvoke(Command(resume={"approve": True, "note": "agreed price"}), config)
    assert done["status"] == "booked"
    assert [d["step"] for d in done["decisions"]] == [
        "receive",
        "extract",
        "match",
        "review",
    ]
    await graph.aupdate_state(config, {"reason": "edited by a person"}, as_node="book")
    await tee.assert_same(thread)


class Greeting(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class Chat(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    topics: list[str]
    answers: Annotated[list[str], operator.add]
    notes: Annotated[
        list[str],
        DeltaChannel(lambda state, writes: [*state, *sum(writes, [])], snapshot_frequency=2),
    ]
    attempts: int


async def test_fan_out_failures_retries_subgraphs_and_delta_channels_store_the_official_rows(
    tee: Tee,
) -> None:
    failing = {"left": True}

    def plan(state: Chat) -> dict[str, Any]:
        return {"topics": ["left", "right", "middle"], "notes": ["planned"], "attempts": None}

    def route(state: Chat) -> list[Send]:
        return [Send("answer", {"topics": [t]}) for t in state["topics"]]

    def answer(state: Chat) -> dict[str, Any]:
        topic = state["topics"][0]
        if failing.pop(topic, False):
            raise RuntimeError(f"{topic} failed once")
        return {"answers": [f"on {topic}"], "notes": [topic]}

    def ask(state: Greeting) -> dict[str, Any]:
        name = interrupt("your name?")
        return {"messages": [AIMessage(f"hello {name}")]}

    inner = StateGraph(Greeting)
    inner.add_node("ask", ask)
    inner.add_edge(START, "ask")

    def summarise(state: Chat) -> dict[str, Any]:
        text = ", ".join(sorted(state["answers"]))
        return {"messages": [AIMessage(text)], "notes": ["summarised"], "attempts": 1}

    outer = StateGraph(Chat)
    outer.add_node("plan", plan)
    outer.add_node("answer", answer)
    outer.add_node("greet", inner.compile())
    outer.add_node("summarise", summarise)
    outer.add_edge(START, "plan")
    outer.add_conditional_edges("plan", route, ["answer"])
    outer.add_edge("answer", "greet")
    outer.add_edge("greet", "summarise")
    outer.add_edge("summarise", END)
    graph = outer.compile(checkpointer=tee)

    thread = str(uuid.uuid4())
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    start = {"messages": [HumanMessage("three topics please")]}
    with pytest.raises(RuntimeError, match="left failed once"):
        await graph.ainvoke(start, config)
    paused = await graph.ainvoke(None, config)  # the failed task again; the others kept
    assert paused["__interrupt__"][0].value == "your name?"
    done = await graph.ainvoke(Command(resume="Ada"), config)
    assert done["messages"][-1].content == "on left, on middle, on right"
    assert done["notes"][0] == "planned" and done["notes"][-1] == "summarised"
    again = await graph.ainvoke({"messages": [HumanMessage("once more")]}, config)
    assert again["__interrupt__"]
    await tee.assert_same(thread)


async def test_concurrent_runs_on_one_saver_store_the_official_rows(tee: Tee) -> None:
    def reply(state: Chat) -> dict[str, Any]:
        return {"messages": [AIMessage(f"echo {len(state['messages'])}")]}

    builder = StateGraph(Chat)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    graph = builder.compile(checkpointer=tee)
    threads = [str(uuid.uuid4()) for _ in range(8)]
    await asyncio.gather(
        *(
            graph.ainvoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": t}})
            for t in threads
        )
    )
    await tee.assert_same(*threads)


class GatedSerializer(JsonPlusSerializer):
    """The default serializer, holding the load of the string "hold" until released."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        value = super().loads_typed(data)
        if value == "hold":
            self.holding.set()
            self.release.wait(timeout=10)
        return value


async def test_reads_on_a_pool_do_not_wait_for_each_other(tee: Tee) -> None:
    gate = GatedSerializer()
    lean = LeanPostgresSaver(tee.conn, serde=gate)
    official = AsyncPostgresSaver(tee.official.conn, serde=gate)
    threads = {"held": str(uuid.uuid4()), "other": str(uuid.uuid4())}
    for saver in (lean, official):
        for name, thread in threads.items():
            config = await saver.aput(_config(thread), _checkpoint({}, {}), {}, {})
            await saver.aput_writes(config, [("x", name if name == "other" else "hold")], "t")

    @asynccontextmanager
    async def one_read_held(saver: AsyncPostgresSaver) -> AsyncIterator[None]:
        gate.holding.clear()
        gate.release.clear()
        held = asyncio.create_task(saver.aget_tuple(_config(threads["held"])))
        try:
            assert await asyncio.to_thread(gate.holding.wait, 5)
            yield
        finally:
            gate.release.set()
            found = await held
            assert found is not None and found.pending_writes == [("t", "x", "hold")]

    async with one_read_held(lean), asyncio.timeout(10):
        other = await lean.aget_tuple(_config(threads["other"]))
    assert other is not None and other.pending_writes == [("t", "x", "other")]
    # The official saver's lock keeps the second read waiting while the first loads its writes.
    with pytest.raises(TimeoutError):
        async with one_read_held(official), asyncio.timeout(0.5):
            await official.aget_tuple(_config(threads["other"]))


@pytest.mark.parametrize("autocommit", [True, False])
async def test_on_one_connection_each_save_is_committed_at_once(tee: Tee, autocommit: bool) -> None:
    url = tee.conn.conninfo if isinstance(tee.conn, AsyncConnectionPool) else ""
    async with await AsyncConnection.connect(
        url, autocommit=autocommit, row_factory=dict_row
    ) as conn:
        lean = LeanPostgresSaver(conn, serde=tee.serde)
        thread = str(uuid.uuid4())
        values = {"doc": {"a": 1}, "text": "t"}
        versions = {"doc": "1"}
        config = await lean.aput(_config(thread), _checkpoint(values, versions), {}, versions)
        await lean.aput_writes(config, [("doc", {"a": 2}), (ERROR, ValueError("x"))], "t")
        assert conn.info.transaction_status == TransactionStatus.IDLE
        # Seen from another connection: committed, not left in an open transaction.
        counts = {table: len(await _rows(tee, table)) for table in _TABLES}
        assert counts == {"checkpoints": 1, "checkpoint_blobs": 1, "checkpoint_writes": 2}
        found = await lean.aget_tuple(_config(thread))
        assert found is not None and found.checkpoint["channel_values"] == values


# -- saves of concurrent runs grouped into one statement -----------------------------------------


class CountingSaver(LeanPostgresSaver):
    """The lean saver noting how many saves each statement it sends carries; `gate`, while
    set, holds every statement until released."""

    def __init__(self, conn: Any, serde: Any) -> None:
        super().__init__(conn, serde=serde)
        self.sent: list[int] = []
        self.gate: asyncio.Event | None = None
        assert self._group is not None
        send = self._group._send

        async def counted(batch: list[Any]) -> None:
            self.sent.append(len(batch))
            if self.gate is not None:
                await self.gate.wait()
            await send(batch)

        self._group._send = counted  # type: ignore[method-assign]


async def test_concurrent_saves_share_statements_and_store_the_official_rows(tee: Tee) -> None:
    counting = CountingSaver(tee.conn, tee.serde)

    class Both(Tee):
        async def aput(self, *args: Any, **kwargs: Any) -> RunnableConfig:
            expected = await self.official.aput(*args, **kwargs)
            got = await counting.aput(*args, **kwargs)
            assert got == expected
            return got

        async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
            await self.official.aput_writes(*args, **kwargs)
            await counting.aput_writes(*args, **kwargs)

    both = Both(counting, tee.official)
    threads = [str(uuid.uuid4()) for _ in range(40)]

    async def run(thread: str) -> None:
        values = {"doc": {"thread": thread}, "text": "t"}
        versions = {"doc": "1", "text": "1"}
        config = await both.aput(_config(thread), _checkpoint(values, versions), {}, versions)
        await asyncio.gather(
            both.aput_writes(config, [("doc", {"n": 1}), ("text", "u")], "task-1"),
            both.aput_writes(config, [(ERROR, ValueError("x"))], "task-2"),
        )

    await asyncio.gather(*(run(t) for t in threads))
    await both.assert_same(*threads)
    assert sum(counting.sent) == 3 * len(threads)
    # Saves that arrived while a statement was in flight shared the next one (the official
    # saver's lock, taken first by each save here, spaces them out: 73 statements in one run).
    assert max(counting.sent) > 1 and len(counting.sent) < 3 * len(threads), counting.sent


async def test_a_save_that_fails_fails_alone_and_the_others_of_its_statement_are_stored(
    tee: Tee,
) -> None:
    saver = CountingSaver(tee.conn, tee.serde)
    saver.gate = asyncio.Event()
    good = [str(uuid.uuid4()) for _ in range(3)]
    first = asyncio.create_task(saver.aput(_config(str(uuid.uuid4())), _checkpoint({}, {}), {}, {}))
    await asyncio.sleep(0.05)  # the first statement is in flight, held: the rest queue behind
    queued = [
        asyncio.create_task(saver.aput(_config(t), _checkpoint({"n": 1}, {}), {}, {}))
        for t in good[:2]
    ]
    # PostgreSQL text cannot hold NUL: this save's statement fails.
    bad = asyncio.create_task(saver.aput(_config("bad\x00thread"), _checkpoint({}, {}), {}, {}))
    queued.append(asyncio.create_task(saver.aput(_config(good[2]), _checkpoint({}, {}), {}, {})))
    await asyncio.sleep(0.05)
    saver.gate.set()
    await first
    with pytest.raises(psycopg.DataError):
        await bad
    await asyncio.gather(*queued)
    # The group of four failed, then went again one save at a time.
    assert saver.sent[:2] == [1, 4] and saver.sent[2:] == [1, 1, 1, 1]
    for thread in good:
        assert await saver.aget_tuple(_config(thread)) is not None


async def test_saves_to_the_same_row_never_share_a_statement_and_keep_their_order(
    tee: Tee,
) -> None:
    saver = CountingSaver(tee.conn, tee.serde)
    thread = str(uuid.uuid4())
    config = await saver.aput(_config(thread), _checkpoint({}, {}), {}, {})
    saver.sent.clear()
    saver.gate = asyncio.Event()
    held = asyncio.create_task(saver.aput_writes(config, [(ERROR, ValueError("0"))], "t"))
    await asyncio.sleep(0.05)
    # Each replaces the task's error row (the upsert variant): one statement may touch a row
    # once, so each goes in a statement of its own, in the order they came.
    later = [
        asyncio.create_task(saver.aput_writes(config, [(ERROR, ValueError(str(n)))], "t"))
        for n in range(1, 4)
    ]
    other = asyncio.create_task(saver.aput_writes(config, [("x", 1)], "u"))
    await asyncio.sleep(0.05)
    saver.gate.set()
    await asyncio.gather(held, *later, other)
    assert saver.sent == [1, 2, 1, 1]
    found = await saver.aget_tuple(config)
    assert found is not None
    errors = [v for task, channel, v in found.pending_writes or [] if channel == ERROR]
    assert [str(e) for e in errors] == [repr(ValueError("3"))]


async def test_a_save_whose_caller_stopped_waiting_before_it_was_sent_is_not_stored(
    tee: Tee,
) -> None:
    saver = CountingSaver(tee.conn, tee.serde)
    saver.gate = asyncio.Event()
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    first = asyncio.create_task(saver.aput(_config(kept), _checkpoint({}, {}), {}, {}))
    await asyncio.sleep(0.05)
    cancelled = asyncio.create_task(saver.aput(_config(dropped), _checkpoint({}, {}), {}, {}))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    saver.gate.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.sleep(0.05)
    assert saver.sent == [1]
    assert await saver.aget_tuple(_config(kept)) is not None
    assert await saver.aget_tuple(_config(dropped)) is None
