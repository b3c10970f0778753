"""The audit chain at the storage seam: concurrent appends from one process's pool, on both
backends, take distinct gapless sequence numbers, and `verify` finds each kind of damage."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace

import psycopg
import pytest

from agent_ops.governance import audit
from agent_ops.storage import Storage, create_storage

BACKENDS = ["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Storage, str]]:
    url = request.getfixturevalue(request.param)
    store = create_storage(url, pool_size=20)
    await store.open()
    yield store, url
    await store.close()


async def test_concurrent_appends_take_gapless_sequences_per_tenant(
    storage: tuple[Storage, str],
) -> None:
    store, _ = storage
    await asyncio.gather(
        *(
            audit.record(store, "thread.create", "thread", f"t{n}", tenant=f"tenant-{n % 2}")
            for n in range(100)
        )
    )
    for tenant in ("tenant-0", "tenant-1"):
        rows = await store.read_audit(tenant_id=tenant, limit=1000)
        assert [r.seq for r in rows] == list(range(1, 51))
        assert rows[0].prev_hash == audit.GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    found = await audit.verify(store)
    assert found.ok and found.rows == 100 and found.tenants == 2, found.describe()


def _write_around_triggers(url: str, statement: str, *params: object) -> None:
    """Run one statement on the audit table with its append-only triggers off, as someone with
    the database's owner rights could."""
    if url.startswith("sqlite:///"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            kept = db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
            ).fetchall()
            db.execute("DROP TRIGGER audit_log_no_update")
            db.execute("DROP TRIGGER audit_log_no_delete")
            db.execute(statement.replace("%s", "?"), params)
            for (sql,) in kept:
                db.execute(sql)
            db.commit()
        finally:
            db.close()
        return
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.execute(statement, params)  # type: ignore[arg-type]
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


async def test_verify_names_a_rehashed_record_by_the_next_link(
    storage: tuple[Storage, str],
) -> None:
    store, url = storage
    for n in range(3):
        await audit.record(store, "run.create", "run", f"r{n}", tenant="acme", actor="system")
    second = (await store.read_audit(tenant_id="acme"))[1]
    forged = replace(second, actor="mallory")
    forged = replace(forged, hash=audit.row_hash(forged))  # a careful forger rehashes it
    _write_around_triggers(
        url,
        "UPDATE audit_log SET actor = %s, hash = %s WHERE tenant_id = %s AND seq = %s",
        "mallory",
        forged.hash,
        "acme",
        2,
    )
    found = await audit.verify(store)
    assert found.broken is not None and found.broken.seq == 3
    assert "record before it was changed" in (found.reason or ""), found.describe()


async def test_verify_names_the_record_after_a_removed_one(storage: tuple[Storage, str]) -> None:
    store, url = storage
    for n in range(3):
        await audit.record(store, "run.create", "run", f"r{n}", tenant="acme", actor="system")
    _write_around_triggers(
        url, "DELETE FROM audit_log WHERE tenant_id = %s AND seq = %s", "acme", 2
    )
    found = await audit.verify(store)
    assert found.broken is not None and found.broken.seq == 3
    assert "record 2 is missing" in (found.reason or ""), found.describe()
