"""The audit trail on PostgreSQL: append a tenant's next row, read rows in chain order.

A row is appended by one statement, usually the action's own: it moves the tenant's chain head,
hashes the row in SQL from the parts of its canonical JSON that do not depend on its place
(`hash_parts` of `agent_ops.governance.audit`, handed over by the entry's `parts`), inserts it,
and sends the transaction's wake-ups.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from agent_ops.storage._sql import Where
from agent_ops.storage.postgres.rows import NOTIFY_CHANNEL, Tx, no_transaction, notes
from agent_ops.storage.records import AuditEntry, AuditRecord

_COLUMNS = [f.name for f in fields(AuditRecord)]
_GENESIS = "0" * 64
# What the head decides; every other field comes with the entry (`given_` of `audit_`).
_PLACE = ("tenant_id", "seq", "prev_hash", "hash")
_GIVEN = [c for c in _COLUMNS if c not in _PLACE]


def _hash_sql(order: tuple[str, ...], prev: str, seq: str) -> str:
    """SQL for the row's hash once `prev` (the previous row's hash) and `seq` are known: the
    entry's three parts around the two values, in the `order` `hash_parts` cut them."""
    value = {
        "prev_hash": f"convert_to({prev}, 'UTF8')",
        "seq": f"convert_to(({seq})::text, 'UTF8')",
    }
    first, second = (value[name] for name in order)
    return (
        f"encode(sha256(a.parts_[1] || {first} || a.parts_[2] || {second} || a.parts_[3]), 'hex')"
    )


# The order canonical JSON puts the two fields in (sorted keys): `prepare` checks every
# entry's parts against it.
_ORDER = ("prev_hash", "seq")
_FIRST_HASH = _hash_sql(_ORDER, f"'{_GENESIS}'", "1")
_NEXT_HASH = _hash_sql(_ORDER, "h.hash", "h.seq + 1")


def audit_ctes(after: str | None, tenant: str = "%s", given: str = "%s", parts: str = "%s") -> str:
    """CTEs appending an entry's row once `after` (a CTE of the action's own write) wrote a row:
    `audit_` (the entry, from `prepare`), `head_` (the tenant's chain head, locked and moved
    to the new row) and `logged_` (the row). `tenant` NULL (no entry) takes no head.

    The head is locked and moved by ONE upsert (PostgreSQL does not apply two changes of one row
    in one statement reliably): ON CONFLICT DO UPDATE waits for a concurrent appender of the
    same tenant and then works on the head it committed, not on this statement's snapshot, so
    concurrent appends queue and each chains to its predecessor. The head keeps the hash it
    moved from (`prev_hash`) for the row, as RETURNING shows only new values. A new tenant's head
    starts at its first row. Reading `after` makes PostgreSQL take the head only once the action's
    write is done: the head stays the statement's, and the transaction's, last lock, and an
    action that wrote nothing (refused, lease lost, id taken) appends no row. The head's row
    lock is held to the commit, so nothing after it in the transaction may wait for a lock
    another transaction could hold while it waits for this head (it could deadlock); the
    primary key (tenant_id, seq) of audit_log would refuse a duplicate even if this were got
    wrong."""
    wrote = "" if after is None else f" AND EXISTS (SELECT 1 FROM {after})"
    given_list = ", ".join(f"a.given_[{i}]" for i in range(1, len(_GIVEN) + 1))
    return (
        f"audit_ AS (SELECT {tenant}::text AS tenant_, {given}::text[] AS given_,"
        f" {parts}::bytea[] AS parts_),"
        " head_ AS (INSERT INTO audit_heads AS h (tenant_id, seq, hash, prev_hash)"
        f" SELECT a.tenant_, 1, {_FIRST_HASH}, '{_GENESIS}' FROM audit_ a"
        f" WHERE a.tenant_ IS NOT NULL{wrote}"
        " ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + 1, prev_hash = h.hash,"
        f" hash = (SELECT {_NEXT_HASH} FROM audit_ a)"
        " RETURNING h.tenant_id, h.seq, h.prev_hash, h.hash),"
        f" logged_ AS (INSERT INTO audit_log ({', '.join((*_PLACE, *_GIVEN))})"
        f" SELECT h.tenant_id, h.seq, h.prev_hash, h.hash, {given_list} FROM head_ h, audit_ a)"
    )


def prepare(entry: AuditEntry | None) -> tuple[AuditRecord | None, tuple[Any, ...]]:
    """The entry's row as a new chain's first row, and the parameters of `audit_ctes` (tenant,
    given fields, hash parts) for it; None and NULLs for no entry.

    Sealing it here gives its fields (all the hash covers besides its place), and an entry that
    cannot be sealed fails before the action wrote anything."""
    if entry is None:
        return None, (None, None, None)
    row = entry.seal(1, _GENESIS)
    order, parts = entry.parts(row)
    if order != _ORDER:
        raise AssertionError(f"the hash parts come in the order {order}, not {_ORDER}")
    return row, (entry.tenant_id, [getattr(row, c) for c in _GIVEN], list(parts))


def notes_cte(extra: str = "", notes: str = "%s") -> str:
    """The CTE `notes_` sending the transaction's wake-ups raised so far (`notes`, its parameter)
    and those `extra` (a text[] expression) computes from the statement's own CTEs; a statement
    must read it (`CROSS JOIN notes_`) or PostgreSQL skips it."""
    more = f" || {extra}" if extra else ""
    return (
        f"notes_ AS (SELECT count(pg_notify('{NOTIFY_CHANNEL}', note)) AS notes_sent_"
        f" FROM unnest({notes}::text[]{more}) AS note)"
    )


_APPEND = (
    f"WITH {audit_ctes(None)}, {notes_cte()}"
    " SELECT h.seq, h.prev_hash, h.hash FROM notes_ CROSS JOIN head_ h"
)


@no_transaction
async def append_audit(tx: Tx, entry: AuditEntry) -> AuditRecord:
    """Append a row in one statement, atomic by itself, so alone it needs no transaction; in an
    action's transaction it is the last statement and the head the last lock."""
    row, params = prepare(entry)
    assert row is not None
    cur = await tx.conn.execute(_APPEND, (*params, notes(tx)))
    head = await cur.fetchone()
    assert head is not None, "an upsert returns its row"
    return replace(row, seq=int(head["seq"]), prev_hash=head["prev_hash"], hash=head["hash"])


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
        await append_audit(tx, entry)
