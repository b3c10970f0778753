"""Encryption at rest of store values (AGENT_OPS_ENCRYPTION_KEY): the `store_items` table, read
with SQL, holds no plain text of a value under a key; the API returns it plain, searches by
namespace and filters on values as before (filters matched after opening); values written
before the key was set still read; another key fails naming the settings."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import psycopg
import pytest
from langgraph_sdk import get_sync_client

from agent_ops.errors import ConfigError
from agent_ops.runtime.store import ServerStore, build_index
from agent_ops.storage import Storage, create_storage
from agent_ops.storage.encryption import Keyring
from tests.runtime.test_store import INDEX
from tests.servers import AgentOpsProcess

SECRET = "Zanzibar-7731 IBAN of Ms Example"
Opener = Callable[[Keyring], Awaitable[Storage]]


def stored_values(url: str) -> list[str]:
    """The `value` column of every store item, as the database holds it."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        rows = [r[0] for r in conn.execute("SELECT value FROM store_items ORDER BY key")]
        conn.close()
        return rows
    with psycopg.connect(url) as pg:
        return [r[0] for r in pg.execute("SELECT value::text FROM store_items ORDER BY key")]


@pytest.fixture
async def opened(database_url: str) -> AsyncIterator[Opener]:
    """Open storages on the test's database under a keyring; all closed afterwards."""
    storages: list[Storage] = []

    async def open_with(keys: Keyring) -> Storage:
        storage = create_storage(database_url)
        storage.encrypt_at_rest(keys)
        await storage.open()
        storages.append(storage)
        return storage

    yield open_with
    for storage in storages:
        await storage.close()


def test_over_http_store_values_are_sealed_and_read_searched_and_filtered_plain(
    processes: Callable[..., AgentOpsProcess], database_url: str
) -> None:
    server = processes(AGENT_OPS_ENCRYPTION_KEY=secrets.token_hex(32))
    client = get_sync_client(url=server.url)
    client.store.put_item(["vendors", "acme"], "bank", {"iban": SECRET, "kind": "bank", "n": 1})
    client.store.put_item(["vendors", "acme"], "mail", {"to": "ap@acme.test", "kind": "mail"})
    client.store.put_item(["vendors", "zeta"], "bank", {"iban": "other", "kind": "bank", "n": 2})

    got = client.store.get_item(["vendors", "acme"], "bank")
    assert got["value"] == {"iban": SECRET, "kind": "bank", "n": 1}
    everything = client.store.search_items(["vendors"], limit=10)["items"]
    assert {(tuple(i["namespace"]), i["key"]) for i in everything} == {
        (("vendors", "acme"), "bank"),
        (("vendors", "acme"), "mail"),
        (("vendors", "zeta"), "bank"),
    }
    banks = client.store.search_items(["vendors"], filter={"kind": "bank"})["items"]
    assert sorted(i["value"]["iban"] for i in banks) == [SECRET, "other"]
    one = client.store.search_items(["vendors"], filter={"kind": "bank", "n": 2})["items"]
    assert [i["value"]["iban"] for i in one] == ["other"]
    acme = client.store.search_items(["vendors", "acme"], filter={"kind": "mail"})["items"]
    assert [i["key"] for i in acme] == ["mail"]
    assert client.store.list_namespaces(prefix=["vendors"])["namespaces"] == [
        ["vendors", "acme"],
        ["vendors", "zeta"],
    ]

    raw = stored_values(database_url)
    assert len(raw) == 3
    assert not any(SECRET in value or "ap@acme.test" in value for value in raw), raw
    assert all(value.startswith('"sealed:aesgcm:') for value in raw)


async def test_filtered_pages_of_sealed_values_keep_their_order_limit_and_offset(
    opened: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 5 rows, so the match runs over several pages of the scan.
    monkeypatch.setattr("agent_ops.storage._items._SCAN", 5)
    storage: Storage = await opened(Keyring(secrets.token_bytes(32)))
    for n in range(12):
        await storage.put_item(("pages",), f"k{n:02}", {"even": n % 2 == 0, "n": n})
    page = await storage.search_items(("pages",), filter={"even": True}, limit=3, offset=1)
    # Newest first: the even items are k10, k08, k06, k04, ...; offset 1 skips k10.
    assert [i.key for i in page] == ["k08", "k06", "k04"]
    assert [i.value["n"] for i in page] == [8, 6, 4]
    # A bool is not a number (as in SQL): `even: 1` matches nothing.
    assert await storage.search_items(("pages",), filter={"even": 1}) == []


async def test_values_written_before_the_key_still_read_and_match_filters(
    opened: Opener, database_url: str
) -> None:
    plain: Storage = await opened(Keyring())
    await plain.put_item(("mixed",), "old", {"kind": "bank", "iban": SECRET})
    keyed: Storage = await opened(Keyring(secrets.token_bytes(32)))
    await keyed.put_item(("mixed",), "new", {"kind": "bank", "iban": "sealed one"})

    old = await keyed.get_item(("mixed",), "old")
    assert old is not None and old.value == {"kind": "bank", "iban": SECRET}
    found = await keyed.search_items(("mixed",), filter={"kind": "bank"})
    assert sorted(i.key for i in found) == ["new", "old"]
    # The control: the value written without a key is plain in the table, the other is not.
    raw = stored_values(database_url)
    assert SECRET in raw[1] and "sealed one" not in raw[0]


@pytest.mark.parametrize("second", ["other", None], ids=["another-key", "no-key"])
async def test_a_sealed_value_under_another_key_or_none_fails_naming_the_settings(
    opened: Opener, second: str | None
) -> None:
    first: Storage = await opened(Keyring(secrets.token_bytes(32)))
    await first.put_item(("x",), "k", {"iban": SECRET})
    other = await opened(Keyring(secrets.token_bytes(16) if second else None))
    with pytest.raises(ConfigError, match="AGENT_OPS_ENCRYPTION_KEY") as failed:
        await other.get_item(("x",), "k")
    if second:
        assert "AGENT_OPS_ENCRYPTION_OLD_KEYS" in str(failed.value)
    with pytest.raises(ConfigError, match="a store value"):
        await other.search_items(("x",))


async def test_a_graphs_store_with_semantic_search_works_on_sealed_values(
    opened: Opener, database_url: str, tmp_path: Path
) -> None:
    storage = await opened(Keyring(secrets.token_bytes(32)))
    store = ServerStore(storage, build_index(INDEX, tmp_path))
    await store.aput(("users", "u1"), "m1", {"text": "likes espresso", "kind": "taste"})
    await store.aput(("users", "u1"), "m2", {"text": "works on invoices", "kind": "job"})
    await store.aput(("users", "u1"), "m3", {"text": "drinks green tea", "kind": "taste"})

    hits = await store.asearch(("users",), query="coffee", filter={"kind": "taste"}, limit=5)
    assert [h.key for h in hits] == ["m1", "m3"]
    assert hits[0].value == {"text": "likes espresso", "kind": "taste"}
    assert hits[0].score is not None
    assert not any("espresso" in value for value in stored_values(database_url))
