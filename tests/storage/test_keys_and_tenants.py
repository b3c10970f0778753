"""API keys and the tenant of rows in both storage backends: one suite, parametrised by backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from agent_ops.errors import NotFound, Unauthenticated
from agent_ops.governance import KeyRing
from agent_ops.storage import ApiKey, IntakeEntry, NewAssistant, Storage, ThreadFilter

SECRET = "k" * 40


def _key(key_id: str, *, expires_at: datetime | None = None) -> ApiKey:
    return ApiKey(
        key_id=key_id,
        name="ci",
        tenant_id="acme",
        role="operator",
        digest="ab" * 32,
        created_at=datetime.now(UTC),
        expires_at=expires_at,
        revoked_at=None,
    )


async def test_keys_are_stored_listed_oldest_first_and_read_by_id(storage: Storage) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    first = await storage.create_api_key(_key("00000000000000a1", expires_at=later))
    await asyncio.sleep(0.01)
    await storage.create_api_key(_key("00000000000000a2"))
    assert first.expires_at is not None and abs(first.expires_at - later) < timedelta(seconds=1)
    assert [k.key_id for k in await storage.list_api_keys()] == [
        "00000000000000a1",
        "00000000000000a2",
    ]
    assert await storage.get_api_key("00000000000000a2") == (await storage.list_api_keys())[1]
    assert await storage.get_api_key("ffffffffffffffff") is None


async def test_revoking_keeps_the_first_revocation_time(storage: Storage) -> None:
    await storage.create_api_key(_key("00000000000000b1"))
    first = await storage.revoke_api_key("00000000000000b1")
    await asyncio.sleep(0.01)
    again = await storage.revoke_api_key("00000000000000b1")
    assert first.revoked_at is not None and again.revoked_at == first.revoked_at
    with pytest.raises(NotFound, match="'ffffffffffffffff' does not exist"):
        await storage.revoke_api_key("ffffffffffffffff")


async def test_key_ring_verifies_only_the_exact_live_key(storage: Storage) -> None:
    ring = KeyRing(storage, SECRET)
    issued = await ring.create(tenant="acme", role="approver", name="maria")
    identity = await ring.verify(issued.key)
    assert (identity.tenant, identity.role, identity.subject) == (
        "acme",
        "approver",
        f"key:{issued.stored.key_id}",
    )
    assert issued.key not in repr(issued.stored)  # only the HMAC is stored
    with pytest.raises(Unauthenticated):
        await KeyRing(storage, "another secret " * 3).verify(issued.key)
    await ring.revoke(issued.stored.key_id)
    with pytest.raises(Unauthenticated, match="was revoked"):
        await ring.verify(issued.key)


async def test_threads_and_runs_carry_the_tenant_they_were_made_in(storage: Storage) -> None:
    await storage.create_assistant(NewAssistant(assistant_id="a" * 8, graph_id="echo", name="echo"))
    made = await storage.create_thread(thread_id="t-acme", tenant_id="acme", owner="key:1")
    assert (made.tenant_id, made.owner) == ("acme", "key:1")
    run = await storage.create_run(
        run_id="r-globex",
        thread_id="t-globex",
        assistant_id="a" * 8,
        kwargs={},
        if_not_exists="create",
        tenant_id="globex",
        owner="key:2",
    )
    assert (run.tenant_id, run.owner) == ("globex", "key:2")
    assert (await storage.get_thread("t-globex")).tenant_id == "globex"
    assert [t.thread_id for t in await storage.search_threads(ThreadFilter(tenant_id="acme"))] == [
        "t-acme"
    ]
    assert await storage.count_threads(ThreadFilter(tenant_id="globex")) == 1
    assert await storage.count_threads() == 2


async def test_intake_ledger_lists_one_tenants_items(storage: Storage) -> None:
    entry = IntakeEntry(source="mail", key="INBOX/1/7", summary={"subject": "Invoice"})
    await storage.create_intake_run(
        entry, run_id="r-mail", thread_id="t-mail", assistant_id="agent", kwargs={}
    )
    assert [i.key for i in await storage.list_intake(tenant_id="default")] == ["INBOX/1/7"]
    assert await storage.list_intake(tenant_id="acme") == []
