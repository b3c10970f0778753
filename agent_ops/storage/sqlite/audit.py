"""The audit trail on SQLite: append a tenant's next row, read rows in chain order."""

from __future__ import annotations

from dataclasses import astuple, fields

from agent_ops.storage._sql import Where
from agent_ops.storage.records import AuditEntry, AuditRecord
from agent_ops.storage.sqlite.rows import Tx

_COLUMNS = [f.name for f in fields(AuditRecord)]
_GENESIS = "0" * 64


def append_audit(tx: Tx, entry: AuditEntry) -> AuditRecord:
    # The transaction is BEGIN IMMEDIATE: it holds SQLite's write lock, so no other writer can
    # take the same sequence between this read and the insert.
    last = tx.conn.execute(
        "SELECT seq, hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
        (entry.tenant_id,),
    ).fetchone()
    seal = entry.seal
    record = seal(1, _GENESIS) if last is None else seal(int(last[0]) + 1, str(last[1]))
    marks = ", ".join("?" for _ in _COLUMNS)
    tx.conn.execute(
        f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES ({marks})", astuple(record)
    )
    return record


def read_audit(tx: Tx, where: Where, limit: int) -> list[AuditRecord]:
    rows = tx.conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM audit_log{where.sql()} ORDER BY tenant_id, seq LIMIT ?",
        (*where.params, limit),
    ).fetchall()
    return [AuditRecord(*row) for row in rows]


def append_entry(tx: Tx, entry: AuditEntry | None) -> None:
    """Append an action's audit row in the action's transaction (nothing for None)."""
    if entry is not None:
        append_audit(tx, entry)
