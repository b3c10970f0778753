"""Deleting or copying a thread is one transaction with its checkpoints, on both backends.

The checkpoint tables are read directly (they are the official savers' own), and a failure in
the middle is made by the database itself: a trigger that refuses the checkpoint step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from agent_ops.errors import NotFound
from agent_ops.runtime import RunOptions, RunRequest, Runtime
from tests.runtimes import started_runtimes
from tests.servers import TEST_GRAPHS

TABLES = {
    "sqlite": ("checkpoints", "writes"),
    "postgres": ("checkpoints", "checkpoint_blobs", "checkpoint_writes"),
}


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def _sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the test's database, outside agent-ops, and return its rows."""
    if _backend(url) == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(statement.replace("%s", "?"), params).fetchall()
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement.encode(), params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def _counts(url: str, thread_id: str) -> dict[str, int]:
    """Rows per checkpoint table, and the thread's own row, for one thread."""
    counts = {
        table: _sql(url, f"SELECT count(*) FROM {table} WHERE thread_id = %s", (thread_id,))[0][0]
        for table in TABLES[_backend(url)]
    }
    counts["threads"] = _sql(
        url, "SELECT count(*) FROM threads WHERE thread_id = %s", (thread_id,)
    )[0][0]
    return counts


def _refuse(url: str, table: str, event: str) -> None:
    """Make the database refuse `event` (INSERT or DELETE) on a checkpoint table."""
    if _backend(url) == "sqlite":
        _sql(
            url,
            f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON {table}"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
        return
    _sql(
        url,
        "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
    )
    _sql(
        url,
        f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION refuse()",
    )


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    async with started_runtimes(database_url, TEST_GRAPHS) as start:
        yield await start(workers=1, poll_seconds=0.1)


async def _waiting_thread(runtime: Runtime) -> str:
    """A thread whose run stopped at an `interrupt()`: checkpoints and pending writes."""
    thread = await runtime.threads.create()
    request = RunRequest("approve", RunOptions(input={"messages": [("user", "pay 5?")]}))
    run = await runtime.runs.create_and_wait(thread.thread_id, request)
    assert run.status == "interrupted", run.error
    return thread.thread_id


async def test_deleting_a_thread_leaves_no_checkpoint_rows(
    runtime: Runtime, database_url: str
) -> None:
    thread_id = await _waiting_thread(runtime)
    before = _counts(database_url, thread_id)
    assert all(before.values()), before  # rows in every table, pending writes too
    await runtime.threads.delete(thread_id)
    assert set(_counts(database_url, thread_id).values()) == {0}
    with pytest.raises(NotFound):
        await runtime.threads.get(thread_id)


async def test_a_delete_that_fails_on_the_checkpoints_leaves_the_thread_whole(
    runtime: Runtime, database_url: str
) -> None:
    thread_id = await _waiting_thread(runtime)
    before = _counts(database_url, thread_id)
    # The last table the delete reaches, after the thread's row and the other tables.
    _refuse(database_url, TABLES[_backend(database_url)][-1], "DELETE")
    with pytest.raises(Exception, match="refused by the test"):
        await runtime.threads.delete(thread_id)
    assert _counts(database_url, thread_id) == before
    assert (await runtime.threads.get(thread_id)).status == "interrupted"
    state = await runtime.threads.state(thread_id)
    assert state["next"] == ["ask"]


async def test_a_copy_holds_every_checkpoint_and_resumes_on_its_own(
    runtime: Runtime, database_url: str
) -> None:
    thread_id = await _waiting_thread(runtime)
    copy = await runtime.threads.copy(thread_id)
    assert _counts(database_url, copy.thread_id) == _counts(database_url, thread_id)
    assert (
        copy.status == "interrupted"
        and copy.interrupts.keys() == (await runtime.threads.get(thread_id)).interrupts.keys()
    )
    resume = RunRequest("approve", RunOptions(command={"resume": "yes"}))
    done = await runtime.runs.create_and_wait(copy.thread_id, resume)
    assert done.status == "success", done.error
    assert done.output["messages"][-1]["content"] == "answer: yes"
    assert (await runtime.threads.get(thread_id)).status == "interrupted"  # the source waits on


async def test_a_copy_that_fails_on_the_checkpoints_leaves_no_half_copy(
    runtime: Runtime, database_url: str
) -> None:
    thread_id = await _waiting_thread(runtime)
    before = _counts(database_url, thread_id)
    table = TABLES[_backend(database_url)][-1]  # the pending writes, copied last
    _refuse(database_url, table, "INSERT")
    with pytest.raises(Exception, match="refused by the test"):
        await runtime.threads.copy(thread_id)
    assert _counts(database_url, thread_id) == before
    assert await runtime.threads.count() == 1  # the copy's row went with the failure
    assert _sql(database_url, "SELECT count(*) FROM checkpoints")[0][0] == before["checkpoints"]
