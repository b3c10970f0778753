"""Threads on SQLite, and how a thread's status follows the runs in flight on it."""

from __future__ import annotations

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import INFLIGHT_SQL
from agent_ops.storage._requests import NewThread
from agent_ops.storage.records import AuditEntry, Thread
from agent_ops.storage.sqlite.audit import append_entry
from agent_ops.storage.sqlite.rows import COLUMNS, Tx, dumps, insert_new, loads, one
from agent_ops.types import Json

_INSERT = (
    "INSERT INTO threads (thread_id, tenant_id, owner, status, metadata, created_at,"
    " updated_at, state_updated_at) VALUES (?, ?, ?, 'idle', ?, ?, ?, ?)"
    " ON CONFLICT (thread_id) DO NOTHING RETURNING *"
)


def create_thread(
    tx: Tx, new: NewThread, if_exists: str, audit: AuditEntry | None = None
) -> Thread:
    params = (*new.params(dumps), tx.now, tx.now, tx.now)
    row = insert_new(tx, _INSERT, params, if_exists, "thread", new.thread_id)
    if row is None:
        return get_thread(tx, new.thread_id)
    append_entry(tx, audit)
    return rec.thread(row, COLUMNS)


def get_thread(tx: Tx, thread_id: str) -> Thread:
    found = tx.conn.execute("SELECT * FROM threads WHERE thread_id = ?", (thread_id,))
    return rec.thread(one(found, _policy.missing("thread", thread_id)), COLUMNS)


def update_thread(tx: Tx, thread_id: str, metadata: Json) -> Thread:
    found = tx.conn.execute("SELECT metadata FROM threads WHERE thread_id = ?", (thread_id,))
    merged = {**loads(one(found, _policy.missing("thread", thread_id))[0]), **metadata}
    row = tx.conn.execute(
        "UPDATE threads SET metadata = ?, updated_at = ? WHERE thread_id = ? RETURNING *",
        (dumps(merged), tx.now, thread_id),
    ).fetchone()
    return rec.thread(row, COLUMNS)


def delete_thread(tx: Tx, thread_id: str) -> None:
    if tx.conn.execute("DELETE FROM threads WHERE thread_id = ?", (thread_id,)).rowcount == 0:
        raise _policy.missing("thread", thread_id)
    delete_checkpoints(tx, thread_id)


def copy_thread(tx: Tx, thread_id: str, new_thread_id: str) -> Thread:
    row = tx.conn.execute(
        'INSERT INTO threads (thread_id, tenant_id, owner, status, metadata, "values",'
        " interrupts, created_at, updated_at, state_updated_at) SELECT ?, tenant_id, owner,"
        f' {_policy.COPY_STATUS_SQL}, metadata, "values", interrupts, ?, ?, ? FROM threads'
        " WHERE thread_id = ? RETURNING *",
        (new_thread_id, tx.now, tx.now, tx.now, thread_id),
    ).fetchone()
    if row is None:
        raise _policy.missing("thread", thread_id)
    copy_checkpoints(tx, thread_id, new_thread_id)
    return rec.thread(row, COLUMNS)


# -- checkpoints: the official SqliteSaver's tables, on the same file ----------------------------
_CHECKPOINT_TABLES = ("checkpoints", "writes")


def delete_checkpoints(tx: Tx, thread_id: str, run_id: str | None = None) -> None:
    """Delete the thread's checkpoints with their pending writes (only those `run_id` wrote,
    when given) in the caller's transaction."""
    c = tx.conn
    if run_id is None:
        for table in _CHECKPOINT_TABLES:
            c.execute(f"DELETE FROM {table} WHERE thread_id = ?", (thread_id,))
        return
    # The official SqliteSaver keeps metadata as JSON bytes: read it as text.
    written = (
        "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?1"
        " AND json_extract(CAST(metadata AS TEXT), '$.run_id') = ?2"
    )
    c.execute(
        f"DELETE FROM writes WHERE thread_id = ?1 AND checkpoint_id IN ({written})",
        (thread_id, run_id),
    )
    c.execute(
        "DELETE FROM checkpoints WHERE thread_id = ?1"
        " AND json_extract(CAST(metadata AS TEXT), '$.run_id') = ?2",
        (thread_id, run_id),
    )


def copy_checkpoints(tx: Tx, thread_id: str, new_thread_id: str) -> None:
    """Copy every checkpoint and pending write of a thread, as they are, to another thread id.

    The columns are read from the saver's own tables, so a column a newer saver adds is copied
    too."""
    for table in _CHECKPOINT_TABLES:
        info = tx.conn.execute(f"PRAGMA table_info({table})").fetchall()
        columns = ", ".join(f'"{r[1]}"' for r in info if r[1] != "thread_id")
        tx.conn.execute(
            f"INSERT INTO {table} (thread_id, {columns}) SELECT ?, {columns} FROM {table}"
            " WHERE thread_id = ?",
            (new_thread_id, thread_id),
        )


def set_thread_state(
    tx: Tx, thread_id: str, values: Json | None, interrupts: Json, status: str | None
) -> Thread:
    changed = tx.conn.execute(
        'UPDATE threads SET "values" = ?, interrupts = ?, state_updated_at = ?, updated_at = ?'
        " WHERE thread_id = ?",
        (None if values is None else dumps(values), dumps(interrupts), tx.now, tx.now, thread_id),
    )
    if changed.rowcount == 0:
        raise _policy.missing("thread", thread_id)
    if status is not None:
        tx.conn.execute("UPDATE threads SET status = ? WHERE thread_id = ?", (status, thread_id))
    else:
        settle_thread(tx, thread_id, _policy.outcome_of_state(bool(interrupts)))
    return get_thread(tx, thread_id)


# -- status after a run --------------------------------------------------------------------------
def next_inflight(tx: Tx, thread_id: str) -> str | None:
    """Return the thread's oldest pending or running run, if any."""
    row = tx.conn.execute(
        f"SELECT run_id FROM runs WHERE thread_id = ? AND status IN {INFLIGHT_SQL}"
        " ORDER BY created_at, run_id LIMIT 1",
        (thread_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def is_waiting(tx: Tx, thread_id: str) -> bool:
    """Whether the thread holds interrupts (a person is asked for something)."""
    row = tx.conn.execute(
        "SELECT interrupts FROM threads WHERE thread_id = ?", (thread_id,)
    ).fetchone()
    return row is not None and row[0] not in ("{}", "")


def settle_thread(tx: Tx, thread_id: str, outcome: str, error: str | None = None) -> None:
    """Set the thread's status after a run ended: busy while another run is in flight."""
    busy = next_inflight(tx, thread_id) is not None
    tx.conn.execute(
        "UPDATE threads SET status = ?, error = ?, updated_at = ? WHERE thread_id = ?",
        ("busy" if busy else outcome, error, tx.now, thread_id),
    )
