"""The audit trail on PostgreSQL: append a tenant's next row, read rows in chain order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, fields

from agent_ops.storage._sql import Where
from agent_ops.storage.postgres.rows import NOTIFY_CHANNEL, Tx, notes
from agent_ops.storage.records import AuditEntry, AuditRecord

_COLUMNS = [f.name for f in fields(AuditRecord)]
_GENESIS = "0" * 64


# Lock and read the tenant's chain head in one statement: ON CONFLICT DO UPDATE waits for a
# concurrent appender of the same tenant and then works on the head it committed (not on this
# statement's snapshot), so concurrent appends queue and each sees its predecessor. A new
# tenant's head starts at seq 0 and the genesis hash.
_LOCK_HEAD = (
    "INSERT INTO audit_heads AS h (tenant_id, seq, hash) VALUES (%s, 0, %s)"
    " ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq RETURNING seq, hash"
)
# The row and the new head in one statement, which also sends the transaction's wake-ups (the
# row is the last write of its transaction).
_CASTS = ", ".join("%s::bigint" if c == "seq" else "%s::text" for c in _COLUMNS)
_APPEND = (
    "WITH head AS (UPDATE audit_heads SET seq = %s, hash = %s WHERE tenant_id = %s),"
    " notes AS (SELECT count(pg_notify(%s, note)) AS n FROM unnest(%s::text[]) AS note)"
    f" INSERT INTO audit_log ({', '.join(_COLUMNS)})"
    f" SELECT {_CASTS} FROM notes"
)


async def append_audit(
    tx: Tx, tenant_id: str, seal: Callable[[int, str], AuditRecord]
) -> AuditRecord:
    # The head's row lock is held to the commit, so a transaction takes it as its LAST lock (an
    # action's row is appended after the action's own writes): one that held it while waiting
    # for a thread's row could deadlock with one holding the thread that waits for the chain.
    # The primary key (tenant_id, seq) of audit_log would refuse a duplicate even if this were
    # got wrong.
    cur = await tx.conn.execute(_LOCK_HEAD, (tenant_id, _GENESIS))
    head = await cur.fetchone()
    assert head is not None, "an upsert returns its row"
    record = seal(int(head["seq"]) + 1, head["hash"])
    await tx.conn.execute(
        _APPEND,
        (record.seq, record.hash, tenant_id, NOTIFY_CHANNEL, notes(tx), *astuple(record)),
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
