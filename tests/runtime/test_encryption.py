"""Encryption at rest of checkpoints (AGENT_OPS_ENCRYPTION_KEY): the checkpoint tables, read
with SQL, hold no plain text of a run's state under a key; state reads back through the runtime,
also after a restart and from checkpoints written before the key was set; another key fails
naming the setting."""

from __future__ import annotations

import base64
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
from langchain_core.messages import BaseMessage
from langgraph_sdk import get_sync_client
from pydantic import ValidationError

from agent_ops.deps import Deps
from agent_ops.errors import ConfigError
from agent_ops.models import MemoryDecisions, Models, ModelsConfig
from agent_ops.runtime import GraphRegistry, RunOptions, RunRequest, Runtime
from agent_ops.settings import Settings
from agent_ops.storage import create_storage
from tests.servers import TEST_GRAPHS, AgentOpsProcess

SECRET = "Zanzibar-7731 IBAN of Ms Example"
CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "writes")


def _deps() -> Deps:
    """Deps whose `respond` model role answers with the question, so the secret is in every
    str channel of the `deps` graph (which PostgreSQL's checkpointer would keep inline)."""
    config = ModelsConfig.model_validate({"roles": {"respond": {"providers": ["rules:echo"]}}})
    models = Models(config, Settings(), MemoryDecisions())

    def echo(messages: Sequence[BaseMessage]) -> str:
        return f"you said {messages[-1].content}"

    models.register_rule("echo", echo)
    return Deps(models=models, public_url="https://ops.example.test")


def _runtime(url: str, key: str | None) -> Runtime:
    settings = Settings(
        database_url=url, workers=1, poll_seconds=0.1, config=TEST_GRAPHS, encryption_key=key
    )
    return Runtime(settings, create_storage(url), GraphRegistry.load(TEST_GRAPHS), deps=_deps())


@asynccontextmanager
async def _running(url: str, key: str | None) -> AsyncIterator[Runtime]:
    runtime = _runtime(url, key)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def _checkpoint_bytes(url: str) -> bytes:
    """Every column of every row of the checkpointer's tables, as stored (blobs as bytes)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = [
            row
            for t in CHECKPOINT_TABLES
            if t in tables
            for row in conn.execute(f"SELECT * FROM {t}")
        ]
        conn.close()
    else:
        with psycopg.connect(url) as pg:
            rows = [
                row
                for t in CHECKPOINT_TABLES
                if pg.execute("SELECT to_regclass(%s)", (t,)).fetchone() != (None,)
                for row in pg.execute(f"SELECT * FROM {t}").fetchall()
            ]
    assert rows, "no checkpoint rows were written"
    return b"\n".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)


async def _ask(runtime: Runtime, question: str) -> Any:
    run = await runtime.runs.create_and_wait(
        None, RunRequest("deps", RunOptions(input={"question": question}))
    )
    assert run.status == "success", run.error
    return run


async def _start_approval(url: str, key: str | None) -> str:
    """Run the `approve` graph on a new thread up to its interrupt, in a runtime that stops
    after it (as a restart would); return the thread id."""
    request = RunRequest("approve", RunOptions(input={"messages": [("user", SECRET)]}))
    async with _running(url, key) as runtime:
        run = await runtime.runs.create_and_wait(None, request)
    assert run.status == "interrupted", run.error
    return run.thread_id


async def _approve(runtime: Runtime, thread_id: str) -> list[str]:
    request = RunRequest("approve", RunOptions(command={"resume": "yes"}))
    run = await runtime.runs.create_and_wait(thread_id, request)
    assert run.status == "success", run.error
    state = await runtime.threads.state(thread_id)
    return [m["content"] for m in state["values"]["messages"]]


@pytest.mark.parametrize("encrypted", [True, False], ids=["with-key", "without-key"])
async def test_checkpoints_hold_no_plain_text_under_a_key_and_read_back(
    database_url: str, encrypted: bool
) -> None:
    async with _running(database_url, secrets.token_hex(32) if encrypted else None) as runtime:
        run = await _ask(runtime, SECRET)
        state = await runtime.threads.state(run.thread_id)
    assert state["values"]["question"] == SECRET
    assert state["values"]["answer"] == f"you said {SECRET}"
    stored = _checkpoint_bytes(database_url)
    # The control: without a key the secret is in the checkpoint tables as it was sent.
    assert (SECRET.encode() in stored) is not encrypted


async def test_a_run_resumed_after_a_restart_with_the_same_key_finishes(database_url: str) -> None:
    key = secrets.token_hex(16)
    thread_id = await _start_approval(database_url, key)
    async with _running(database_url, key) as second:
        messages = await _approve(second, thread_id)
    assert messages == [SECRET, "answer: yes"]
    assert SECRET.encode() not in _checkpoint_bytes(database_url)


async def test_checkpoints_written_before_the_key_was_set_still_read_and_resume(
    database_url: str,
) -> None:
    thread_id = await _start_approval(database_url, None)
    async with _running(database_url, secrets.token_hex(32)) as keyed:
        before = await keyed.threads.state(thread_id)
        messages = await _approve(keyed, thread_id)
    assert [m["content"] for m in before["values"]["messages"]] == [SECRET]
    assert messages == [SECRET, "answer: yes"]


@pytest.mark.parametrize("second_key", ["other", None], ids=["another-key", "no-key"])
async def test_encrypted_checkpoints_under_another_key_or_none_fail_naming_the_setting(
    database_url: str, second_key: str | None
) -> None:
    thread_id = await _start_approval(database_url, secrets.token_hex(32))
    async with _running(database_url, secrets.token_hex(32) if second_key else None) as other:
        with pytest.raises(ConfigError, match="AGENT_OPS_ENCRYPTION_KEY") as failed:
            await other.threads.state(thread_id)
        request = RunRequest("approve", RunOptions(command={"resume": "yes"}))
        resumed = await other.runs.create_and_wait(thread_id, request)
    assert ("another key" if second_key else "is not set") in str(failed.value)
    # A run cannot go on from a checkpoint it cannot read: it ends in error naming the setting.
    assert resumed.status == "error"
    assert resumed.error is not None and "AGENT_OPS_ENCRYPTION_KEY" in resumed.error


@pytest.mark.parametrize("key", ["not-a-key", "ab" * 15, "QUJD"])
def test_a_malformed_key_is_refused_naming_the_setting(key: str) -> None:
    with pytest.raises(ValidationError, match="AGENT_OPS_ENCRYPTION_KEY is not an AES key"):
        Settings(encryption_key=key)


def test_hex_and_base64_keys_of_aes_lengths_are_read() -> None:
    raw = secrets.token_bytes(32)
    assert Settings(encryption_key=raw.hex()).checkpoint_key == raw
    assert Settings(encryption_key=base64.b64encode(raw).decode()).checkpoint_key == raw
    assert (
        Settings(encryption_key=base64.urlsafe_b64encode(raw[:16]).decode()).checkpoint_key
        == (raw[:16])
    )
    assert Settings().checkpoint_key is None


def test_over_http_a_state_read_under_another_key_is_a_500_naming_the_setting(
    processes: Callable[..., AgentOpsProcess],
) -> None:
    first = processes(AGENT_OPS_ENCRYPTION_KEY=secrets.token_hex(32))
    client = get_sync_client(url=first.url)
    thread = client.threads.create()
    run = client.runs.wait(
        thread["thread_id"], "approve", input={"messages": [{"role": "user", "content": SECRET}]}
    )
    assert run["__interrupt__"], run
    first.stop()
    second = processes(AGENT_OPS_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode())
    with pytest.raises(httpx.HTTPStatusError) as failed:
        get_sync_client(url=second.url).threads.get_state(thread["thread_id"])
    assert failed.value.response.status_code == 500
    assert "AGENT_OPS_ENCRYPTION_KEY" in failed.value.response.json()["detail"]
