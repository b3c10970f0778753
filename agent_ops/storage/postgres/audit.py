"""The audit trail on PostgreSQL: append a tenant's next row, read rows in chain order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, fields

from agent_ops.storage._sql import Where
from agent_ops.storage.postgres.rows import Tx
from agent_ops.storage.records import AuditEntry, AuditRecord

_COLUMNS = [f.name for f in fields(AuditRecord)]
_GENESIS = "0" * 64


async def append_audit(
    tx: Tx, tenant_id: str, seal: Callable[[int, str], AuditRecord]
) -> AuditRecord:
    # Writers of one tenant's chain queue on a transaction-scoped advisory lock; the SELECT after
    # it (a new snapshot under READ COMMITTED) sees the row the previous holder committed. The
    # primary key (tenant_id, seq) would refuse a duplicate even if this were got wrong.
    # The lock is held to the commit, so a transaction takes it as its LAST lock (an action's
    # row is appended after the action's own writes): one that held it while waiting for a
    # thread's row could deadlock with one holding the thread that waits for the chain.
    await tx.conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('agent_ops.audit/' || %s, 0))",
        (tenant_id,),
    )
    cur = await tx.conn.execute(
        "SELECT seq, hash FROM audit_log WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1",
        (tenant_id,),
    )
    last = await cur.fetchone()
    record = seal(1, _GENESIS) if last is None else seal(int(last["seq"]) + 1, last["hash"])
    marks = ", ".join("%s" for _ in _COLUMNS)
    await tx.conn.execute(
        f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES ({marks})", astuple(record)
    )
    return record


async def read_audit(tx: Tx, where: Where, limit: int) -> list[AuditRecord]:
    cur = await tx.conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM audit_log{where.sql()} ORDER BY tenant_id, seq"
        " LIMIT %s",
        (*where.params, limit),
    )
    return [AuditRecord(**row) for row in await cur.fetchall()]


async def append_entry(tx: Tx, entry: AuditEntry | None) -> None:
    """Append an action's audit row in the action's transaction (nothing for None)."""
    if entry is not None:
        await append_audit(tx, entry.tenant_id, entry.seal)
