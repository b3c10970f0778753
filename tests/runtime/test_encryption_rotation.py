"""Key rotation (AGENT_OPS_ENCRYPTION_OLD_KEYS, `agent-ops encryption rotate`): old keys only
open; rotation re-seals checkpoints and store values under the current key in resumable
batches, after which the old key can go and everything still reads over the API; a value under
no known key fails naming both settings."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client

from agent_ops.errors import ConfigError
from agent_ops.storage import create_storage
from agent_ops.storage.encryption import Keyring
from tests.runtime.test_encryption_store import SECRET, stored_values
from tests.servers import AgentOpsProcess

KEY_ENV = "AGENT_OPS_ENCRYPTION_KEY"
OLD_ENV = "AGENT_OPS_ENCRYPTION_OLD_KEYS"


def rotate(
    url: str, key: str, old: str = "", *, batch: int = 2
) -> subprocess.CompletedProcess[str]:
    """Run `agent-ops encryption rotate` as an operator would, in its own process."""
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, OLD_ENV)}
    env |= {"AGENT_OPS_DATABASE_URL": url} | {
        n: v for n, v in ((KEY_ENV, key), (OLD_ENV, old)) if v
    }
    return subprocess.run(
        [sys.executable, "-m", "agent_ops", "encryption", "rotate", "--batch", str(batch)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def counts(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return {line["table"]: line for line in map(json.loads, done.stdout.splitlines())}


def _start_approval(client: Any) -> str:
    thread = client.threads.create()
    run = client.runs.wait(
        thread["thread_id"], "approve", input={"messages": [{"role": "user", "content": SECRET}]}
    )
    assert run["__interrupt__"], run
    return str(thread["thread_id"])


def test_after_rotation_the_old_key_can_go_and_state_and_store_read_over_http(
    processes: Callable[..., AgentOpsProcess], database_url: str
) -> None:
    old, new = secrets.token_hex(32), secrets.token_hex(16)
    first = processes(**{KEY_ENV: old})
    client = get_sync_client(url=first.url)
    thread_id = _start_approval(client)
    for n in range(3):
        client.store.put_item(["vendors"], f"v{n}", {"iban": SECRET, "n": n})
    first.stop()

    # The new key with the old one for reading: everything reads, new writes seal under it.
    second = processes(**{KEY_ENV: new, OLD_ENV: old})
    client = get_sync_client(url=second.url)
    assert client.threads.get_state(thread_id)["values"]["messages"][0]["content"] == SECRET
    client.store.put_item(["vendors"], "v3", {"iban": SECRET, "n": 3})
    assert client.store.get_item(["vendors"], "v0")["value"] == {"iban": SECRET, "n": 0}
    second.stop()

    found = counts(rotate(database_url, new, old))
    store = found["store_items"]
    assert (store["resealed"], store["current"], store["sealed"]) == (3, 1, 0)
    checkpoint_tables = set(found) - {"store_items", "run_events", "thread_events"}
    assert checkpoint_tables, found
    assert found["run_events"]["resealed"] > 0
    assert sum(found[t]["resealed"] for t in checkpoint_tables) > 0
    # Run again (as after an interruption): nothing is left under the old key.
    again = counts(rotate(database_url, new, old))
    assert all(line["resealed"] == 0 for line in again.values()), again
    assert again["store_items"]["current"] == 4

    third = processes(**{KEY_ENV: new})  # the old key is gone
    client = get_sync_client(url=third.url)
    assert client.threads.get_state(thread_id)["values"]["messages"][0]["content"] == SECRET
    finished = client.runs.wait(thread_id, "approve", command={"resume": "yes"})
    assert [m["content"] for m in finished["messages"]] == [SECRET, "answer: yes"]
    values = client.store.search_items(["vendors"], filter={"n": 2})["items"]
    assert [v["value"]["iban"] for v in values] == [SECRET]
    assert not any(SECRET in v for v in stored_values(database_url))


def test_without_the_old_key_a_state_read_is_a_500_naming_both_settings(
    processes: Callable[..., AgentOpsProcess],
) -> None:
    first = processes(**{KEY_ENV: secrets.token_hex(32)})
    thread_id = _start_approval(get_sync_client(url=first.url))
    first.stop()
    second = processes(**{KEY_ENV: secrets.token_hex(32), OLD_ENV: secrets.token_hex(32)})
    with pytest.raises(httpx.HTTPStatusError) as failed:
        get_sync_client(url=second.url).threads.get_state(thread_id)
    assert failed.value.response.status_code == 500
    detail = failed.value.response.json()["detail"]
    assert KEY_ENV in detail and OLD_ENV in detail


async def test_an_interrupted_rotation_resumes_where_it_stopped(database_url: str) -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    writer = create_storage(database_url)
    writer.encrypt_at_rest(Keyring(old))
    await writer.open()
    try:
        for n in range(5):
            await writer.put_item(("rot",), f"k{n}", {"n": n})
    finally:
        await writer.close()
    rotating = create_storage(database_url)
    rotating.encrypt_at_rest(Keyring(new, [old]))
    await rotating.open()
    try:
        first = await rotating.reseal_batch("store_items", limit=2)  # then the process "dies"
    finally:
        await rotating.close()
    assert (first.resealed, first.current) == (2, 0)
    done = counts(rotate(database_url, new.hex(), old.hex(), batch=2))["store_items"]
    assert (done["resealed"], done["current"]) == (3, 2)


async def test_rotation_refuses_a_value_under_no_known_key_naming_both_settings(
    database_url: str,
) -> None:
    lost = secrets.token_bytes(32)
    storage = create_storage(database_url)
    storage.encrypt_at_rest(Keyring(lost))
    await storage.open()
    try:
        await storage.put_item(("rot",), "k", {"iban": SECRET})
    finally:
        await storage.close()
    failed = rotate(database_url, secrets.token_hex(32), secrets.token_hex(32))
    assert failed.returncode == 2
    assert KEY_ENV in failed.stderr and OLD_ENV in failed.stderr, failed.stderr
    assert "table store_items" in failed.stderr and "a store value" in failed.stderr


def test_rotation_without_a_current_key_is_refused_naming_it(database_url: str) -> None:
    failed = rotate(database_url, "")
    assert failed.returncode == 2
    assert f"{KEY_ENV} is not set" in failed.stderr, failed.stderr


def test_old_keys_without_a_current_key_are_refused() -> None:
    from pydantic import ValidationError

    from agent_ops.settings import Settings

    with pytest.raises(ValidationError, match=f"{OLD_ENV} is set without {KEY_ENV}"):
        Settings(encryption_old_keys=secrets.token_hex(32))
    with pytest.raises(ConfigError, match=f"{OLD_ENV} is set without {KEY_ENV}"):
        Keyring(None, [secrets.token_bytes(32)])


def test_a_malformed_old_key_is_refused_naming_its_setting() -> None:
    from pydantic import ValidationError

    from agent_ops.settings import Settings

    with pytest.raises(ValidationError, match=f"{OLD_ENV} is not an AES key"):
        Settings(encryption_key=secrets.token_hex(32), encryption_old_keys="ab,cd")
