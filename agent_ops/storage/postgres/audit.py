"""The audit trail on PostgreSQL: append a tenant's next row, read rows in chain order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, fields
from typing import Any

from psycopg.rows import DictRow

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
# The same lock as a CTE of an action's main statement, one statement and one round trip fewer.
# It reads the CTE `after` names (the action's own write), so PostgreSQL takes the head only
# once that write is done: the head stays the statement's, and the transaction's, last lock
# (see `append_audit`), and an action that wrote nothing (refused, lease lost, id taken) takes
# no head at all. `tenant` NULL (no audit row asked for) takes none either.
HEAD_COLUMNS = "(SELECT seq FROM head_) AS head_seq_, (SELECT hash FROM head_) AS head_hash_"


def head_cte(after: str, tenant: str = "%s", genesis: str = "%s") -> str:
    """The `head_` CTE locking the chain head of `tenant` once `after` wrote a row; select
    `HEAD_COLUMNS` from the statement and hand its row to `append_after_head`."""
    return (
        "head_ AS (INSERT INTO audit_heads AS h (tenant_id, seq, hash)"
        f" SELECT p.tenant, 0, p.genesis FROM (SELECT {tenant}::text AS tenant,"
        f" {genesis}::text AS genesis) p WHERE p.tenant IS NOT NULL"
        f" AND EXISTS (SELECT 1 FROM {after})"
        " ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq RETURNING seq, hash)"
    )


def head_params(entry: AuditEntry | None) -> tuple[str | None, str]:
    """The parameters of `head_cte` (tenant, genesis) for an action's audit row or None."""
    return (None if entry is None else entry.tenant_id), _GENESIS


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
    return await _append(tx, tenant_id, seal, int(head["seq"]), head["hash"])


async def _append(
    tx: Tx, tenant_id: str, seal: Callable[[int, str], AuditRecord], seq: int, prev: str
) -> AuditRecord:
    """Append the row after the locked head (`seq`, `prev`) and move the head to it."""
    record = seal(seq + 1, prev)
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


async def append_after_head(
    tx: Tx, entry: AuditEntry | None, row: DictRow | dict[str, Any]
) -> None:
    """Append an action's audit row (nothing for None) after the head its main statement
    locked (`head_cte`); take the head's columns out of the statement's `row` either way."""
    seq, prev = row.pop("head_seq_"), row.pop("head_hash_")
    if entry is not None:
        assert seq is not None, "the statement wrote its row, so it locked the head"
        await _append(tx, entry.tenant_id, entry.seal, int(seq), prev)
