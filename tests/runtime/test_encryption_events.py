"""Encryption at rest of stream events (AGENT_OPS_ENCRYPTION_KEY): `run_events` and
`thread_events`, read with SQL, hold no plain text of a run under a key; a finished run's
stream replays plain over the API; events stored before the key still replay."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable

import psycopg
from langgraph_sdk import get_sync_client

from agent_ops.storage import RunEvent, create_storage
from agent_ops.storage.encryption import SEALED_BYTES, Keyring
from tests.runtime.test_encryption_rotation import KEY_ENV, counts, rotate
from tests.runtime.test_encryption_store import SECRET
from tests.servers import AgentOpsProcess


def stored_events(url: str, table: str) -> list[bytes]:
    """The `data` column of every row of an events table, as the database holds it."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        rows = [bytes(r[0]) for r in conn.execute(f"SELECT data FROM {table}")]
        conn.close()
        return rows
    with psycopg.connect(url) as pg:
        return [bytes(r[0]) for r in pg.execute(f"SELECT data FROM {table}")]


def test_over_http_run_events_are_sealed_and_replay_plain(
    processes: Callable[..., AgentOpsProcess], database_url: str
) -> None:
    server = processes(**{KEY_ENV: secrets.token_hex(32)})
    client = get_sync_client(url=server.url)
    thread = client.threads.create()
    run = client.runs.create(
        thread["thread_id"],
        "approve",
        input={"messages": [{"role": "user", "content": SECRET}]},
        stream_mode="values",
    )
    client.runs.join(thread["thread_id"], run["run_id"])
    replayed = list(client.runs.join_stream(thread["thread_id"], run["run_id"]))
    assert any(SECRET in json.dumps(part.data) for part in replayed), replayed

    raw = stored_events(database_url, "run_events")
    assert raw and all(data.startswith(SEALED_BYTES) for data in raw)
    assert not any(SECRET.encode() in data for data in raw)


async def test_thread_events_are_sealed_and_events_stored_before_the_key_still_read(
    database_url: str,
) -> None:
    key = secrets.token_bytes(32)
    plain = create_storage(database_url)
    await plain.open()
    try:
        thread = await plain.create_thread(thread_id="t-1")
        await plain.append_thread_event(thread.thread_id, "values", b'{"old": 1}')
    finally:
        await plain.close()
    keyed = create_storage(database_url)
    keyed.encrypt_at_rest(Keyring(key))
    await keyed.open()
    try:
        data = json.dumps({"iban": SECRET}).encode()
        written = await keyed.append_thread_event("t-1", "values", data)
        read = await keyed.read_thread_events("t-1")
    finally:
        await keyed.close()
    assert written.data == data
    assert sorted(e.data for e in read) == sorted([b'{"old": 1}', data])
    raw = stored_events(database_url, "thread_events")
    assert b'{"old": 1}' in raw and not any(SECRET.encode() in d for d in raw)

    # Rotation seals the plain one and re-seals the other under the new key.
    new = secrets.token_bytes(32)
    found = counts(rotate(database_url, new.hex(), key.hex()))["thread_events"]
    assert (found["resealed"], found["sealed"]) == (1, 1)
    assert all(d.startswith(SEALED_BYTES) for d in stored_events(database_url, "thread_events"))
    rotated = create_storage(database_url)
    rotated.encrypt_at_rest(Keyring(new))
    await rotated.open()
    try:
        again = await rotated.read_thread_events("t-1")
    finally:
        await rotated.close()
    assert sorted(e.data for e in again) == sorted([b'{"old": 1}', data])


async def test_run_events_read_back_plain_through_storage(database_url: str) -> None:
    storage = create_storage(database_url)
    storage.encrypt_at_rest(Keyring(secrets.token_bytes(16)))
    await storage.open()
    try:
        queued = await storage.create_run(
            run_id="r-1", thread_id="t-1", assistant_id="a", kwargs={}, if_not_exists="create"
        )
        events = [RunEvent(1, "values", SECRET.encode()), RunEvent(2, "end", b"{}")]
        await storage.append_events(queued.run_id, events)
        assert await storage.read_events(queued.run_id) == events
        assert await storage.read_events(queued.run_id, after_seq=1) == events[1:]
    finally:
        await storage.close()
