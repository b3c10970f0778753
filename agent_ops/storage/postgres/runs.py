"""Runs and the queue on PostgreSQL: queuing under a multitask strategy, claims, leases, endings.

Claims lock with `FOR NO KEY UPDATE SKIP LOCKED`, so any number of workers in any number of
processes take distinct runs without waiting on each other (NO KEY: appending events, which
references the run, does not block a claim); a thread's runs still go one at a time, oldest first.

Lock order keeps concurrent transactions free of deadlocks: a thread row before its runs, and a
tenant's audit chain head last of all. A claim is one statement in autocommit; ending a run it
found exhausted is a transaction of its own that tries the thread with SKIP LOCKED and leaves the
run to a later claim when the thread is busy.

The common state changes are one call each, in autocommit, of a routine (`routines.py`) that
locks the thread and then runs one statement: queuing under `reject`/`enqueue` writes the run and
the thread's status; finishing ends the run, settles the thread and finds its next run. That
statement also appends the audit row that records the change (after its own writes,
`audit.audit_ctes`) and sends the wake-ups, those that depend on what it did chosen in SQL. The
other strategies, a thread created with its run, and a run naming a webhook (its completion
message commits with its ending) take a transaction. A run queued
with a worker of this process offered (`NewRun.worker_id`) is written already claimed by it when
its thread has nothing in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from agent_ops.storage import _policy
from agent_ops.storage import _records as rec
from agent_ops.storage._policy import INFLIGHT_SQL, NewRun
from agent_ops.storage._requests import Ending
from agent_ops.storage.channels import RUN_CANCEL, RUN_DONE, RUN_QUEUED, queued
from agent_ops.storage.postgres import outbox
from agent_ops.storage.postgres.audit import append_entry, audit_ctes, notes_cte, prepare
from agent_ops.storage.postgres.routines import positional, routine
from agent_ops.storage.postgres.rows import (
    COLUMNS,
    NOTIFY_CHANNEL,
    Tx,
    jsonb,
    maybe_jsonb,
    no_transaction,
    note,
    notes,
    send_pending,
    sent_by_statement,
)
from agent_ops.storage.postgres.threads import (
    delete_checkpoints,
    is_waiting,
    next_inflight,
    settle_thread,
)
from agent_ops.storage.records import AuditEntry, LeaseState, Run
from agent_ops.types import Json

# Skipping the runs this claim already passed over; locking the rows against other claimers.
_NEXT_RUNNABLE = _policy.next_runnable_sql(
    now="now()",
    also="\n  AND r.run_id <> ALL(%s)",
    lock="\nFOR NO KEY UPDATE OF r SKIP LOCKED",
    limit="%s",
)
# Find and take up to n runnable runs in one statement: each comes back taken (`taken_`), or as
# it is when it used all its attempts and must be ended instead.
_TAKE_NEXT = f"""
WITH next AS ({_NEXT_RUNNABLE}),
taken AS (
  UPDATE runs SET status = 'running', worker_id = %s,
    lease_expires_at = now() + make_interval(secs => %s), attempt = runs.attempt + 1,
    updated_at = now()
  FROM next
  WHERE runs.run_id = next.run_id AND NOT (next.status = 'running' AND next.attempt >= %s)
  RETURNING runs.*
)
SELECT true AS taken_, * FROM taken
UNION ALL
SELECT false AS taken_, * FROM next WHERE run_id NOT IN (SELECT run_id FROM taken)
ORDER BY created_at, run_id
"""
_END = (
    "UPDATE runs SET status = %s, error = %s, finished_at = now(), updated_at = now(),"
    " lease_expires_at = NULL WHERE run_id = %s"
)
# Queue a run on a locked thread under `reject` or `enqueue`, in one statement: the thread learns
# its graph (keys it has win) and turns busy, and the run goes in, unless `reject` finds a run
# in flight, whose ids and statuses come back instead (the run is then NULL).
_QUEUE = f"""
WITH params AS (
  SELECT %s::text AS run_id, %s::text AS thread_id, %s::text AS assistant_id,
    %s::text AS tenant_id, %s::text AS owner, %s::jsonb AS metadata, %s::jsonb AS kwargs,
    %s::text AS multitask_strategy, %s::boolean AS stateless, %s::float8 AS after_seconds,
    %s::boolean AS enqueue, %s::jsonb AS thread_metadata, %s::text AS worker_id,
    %s::float8 AS lease_seconds
),
busy AS (
  SELECT r.run_id, r.status FROM runs r, params p
  WHERE r.thread_id = p.thread_id AND r.status IN {INFLIGHT_SQL} ORDER BY r.created_at, r.run_id
),
start AS (  -- handed to the offered worker, as `NewRun.handed` says
  SELECT p.*, p.worker_id IS NOT NULL AND p.after_seconds <= 0
    AND NOT EXISTS (SELECT 1 FROM busy) AS handed FROM params p
),
added AS (
  INSERT INTO runs (run_id, thread_id, assistant_id, tenant_id, owner, metadata, kwargs,
    multitask_strategy, stateless, not_before, status, worker_id, lease_expires_at, attempt)
  SELECT run_id, thread_id, assistant_id, tenant_id, owner, metadata, kwargs,
    multitask_strategy, stateless, now() + make_interval(secs => after_seconds),
    CASE WHEN handed THEN 'running' ELSE 'pending' END, CASE WHEN handed THEN worker_id END,
    CASE WHEN handed THEN now() + make_interval(secs => lease_seconds) END,
    CASE WHEN handed THEN 1 ELSE 0 END
  FROM start WHERE enqueue OR NOT EXISTS (SELECT 1 FROM busy)
  ON CONFLICT (run_id) DO NOTHING RETURNING *
),
thread AS (
  UPDATE threads t SET metadata = p.thread_metadata || t.metadata, status = 'busy',
    updated_at = now()
  FROM params p WHERE t.thread_id = p.thread_id AND EXISTS (SELECT 1 FROM added)
),
{audit_ctes("added")},
{notes_cte("ARRAY(SELECT CASE WHEN status = 'running' THEN %s::text ELSE %s::text END FROM added)")}
SELECT CASE WHEN added.run_id IS NULL THEN NULL ELSE ROW(added.*)::runs END,
  ARRAY(SELECT run_id FROM busy), ARRAY(SELECT status FROM busy), true
FROM notes_ LEFT JOIN added ON true
"""


def _send_notes(param: str) -> str:
    """A routine's line sending the wake-ups its text[] argument `param` holds, on a path that
    returns before its statement (whose `notes_cte` sends them otherwise)."""
    return (
        f"    PERFORM pg_notify('{NOTIFY_CHANNEL}', note) FROM unnest({param}::text[]) AS note;\n"
    )


# Lock the thread, then queue (a statement of its own: its snapshot sees every run committed
# before the lock was granted), in one call. `q_locked` says whether the thread was found and
# locked; when it was not, nothing was written and the caller takes the general path.
_QUEUE_ROUTINE = routine(
    "queue_run",
    ("text", "text", "text", "text", "text", "jsonb", "jsonb", "text", "boolean", "float8")
    + ("boolean", "jsonb", "text", "float8", "text", "text[]", "bytea[]", "text[]", "text", "text"),
    "TABLE (q_run runs, q_busy_ids text[], q_busy_statuses text[], q_locked boolean)",
    "#variable_conflict use_column\nBEGIN\n"
    "  PERFORM 1 FROM threads WHERE thread_id = $2 FOR NO KEY UPDATE;\n"
    # No thread, no lock: the statement must not run unlocked (a thread committed meanwhile
    # would be visible to it), so only the wake-ups raised before go out.
    "  IF NOT FOUND THEN\n"
    f"{_send_notes('$18')}"
    "    RETURN QUERY SELECT NULL::runs, NULL::text[], NULL::text[], false;\n    RETURN;\n"
    f"  END IF;\n  RETURN QUERY {positional(_QUEUE)};\nEND",
    "(q.q_run).*, q.q_busy_ids, q.q_busy_statuses, q.q_locked",
)
# End a run on its locked thread in one statement: the run, the thread's state and status (busy
# while another run is in flight, else as `_policy.outcome_of_finish` says), and the thread's
# next run in flight, whose worker may go now. The CTEs share one snapshot, in which the ending
# run is still running: `next` leaves it out by id. The run's last stream events go in too
# (`stored`), whether or not the lease still holds, as a separate flush would have stored them.
_OUTCOME = _policy.outcome_of_finish_sql(
    "%(status)s", "%(error)s", "COALESCE(%(interrupts)s, t.interrupts) <> '{}'::jsonb"
)
_FINISH = f"""
WITH stored AS (
  INSERT INTO run_events (run_id, seq, event, data)
  SELECT %(r)s, e.seq, e.event, e.data
  FROM unnest(%(seq)s::bigint[], %(event)s::text[], %(data)s::bytea[]) AS e(seq, event, data)
  ON CONFLICT (run_id, seq) DO NOTHING
),
done AS (
  UPDATE runs SET status = %(status)s, error = %(error)s, output = %(output)s,
    finished_at = now(), updated_at = now(), lease_expires_at = NULL
  WHERE run_id = %(r)s AND worker_id = %(w)s AND status = 'running' RETURNING *
),
next AS (
  SELECT run_id FROM runs WHERE thread_id = %(t)s AND run_id <> %(r)s
    AND status IN {INFLIGHT_SQL} ORDER BY created_at, run_id LIMIT 1
),
thread AS (
  UPDATE threads t SET "values" = COALESCE(%(values)s, t."values"),
    interrupts = COALESCE(%(interrupts)s, t.interrupts), state_updated_at = now(),
    status = CASE WHEN EXISTS (SELECT 1 FROM next) THEN 'busy' ELSE {_OUTCOME} END,
    error = CASE WHEN {_OUTCOME} = 'error' THEN %(error)s END, updated_at = now()
  WHERE t.thread_id = %(t)s AND EXISTS (SELECT 1 FROM done)
),
{audit_ctes("done", "%(audit_tenant)s", "%(audit_given)s", "%(audit_parts)s")},
{
    notes_cte(
        "ARRAY(SELECT %(done_note)s::text FROM done)"
        " || ARRAY(SELECT %(queued_note)s::text || next.run_id || %(token)s::text FROM next, done)",
        "%(notes)s",
    )
}
SELECT done.*, (SELECT run_id FROM next) AS next_run_ FROM notes_ LEFT JOIN done ON true
"""
_FINISH_ARGS = (
    ("r", "text"), ("w", "text"), ("status", "text"), ("error", "text"), ("output", "jsonb"),
    ("values", "jsonb"), ("interrupts", "jsonb"), ("seq", "bigint[]"), ("event", "text[]"),
    ("data", "bytea[]"), ("audit_tenant", "text"), ("audit_given", "text[]"),
    ("audit_parts", "bytea[]"), ("notes", "text[]"), ("done_note", "text"),
    ("queued_note", "text"), ("token", "text"),
)  # fmt: skip
# Lock the run's thread, then end the run (a statement of its own, as in `_QUEUE_ROUTINE`), in
# one call; no row when the run is gone. A run naming a webhook is left as it is (`q_webhook`):
# its completion message must commit with its ending, so the caller ends it in a transaction.
_FINISH_ROUTINE = routine(
    "finish_run",
    tuple(kind for _, kind in _FINISH_ARGS),
    "TABLE (q_run runs, q_next text, q_webhook boolean)",
    "#variable_conflict use_column\nDECLARE locked_thread text; hook jsonb;\nBEGIN\n"
    "  SELECT t.thread_id, r.kwargs -> 'webhook' INTO locked_thread, hook\n"
    "  FROM threads t JOIN runs r USING (thread_id) WHERE r.run_id = $1 FOR NO KEY UPDATE OF t;\n"
    "  IF NOT FOUND THEN\n"
    f"{_send_notes('$14')}"
    "    RETURN;\n  END IF;\n"
    "  IF hook IS NOT NULL AND hook NOT IN ('null'::jsonb, 'false'::jsonb, '\"\"'::jsonb) THEN\n"
    f"{_send_notes('$14')}"
    "    RETURN QUERY SELECT NULL::runs, NULL::text, true;\n    RETURN;\n  END IF;\n"
    "  RETURN QUERY "
    + positional(
        _FINISH.replace("%(t)s", "locked_thread").replace(
            "SELECT done.*, (SELECT run_id FROM next) AS next_run_ FROM",
            "SELECT CASE WHEN done.run_id IS NULL THEN NULL ELSE ROW(done.*)::runs END,"
            " (SELECT run_id FROM next), false FROM",
        ),
        tuple(name for name, _ in _FINISH_ARGS),
    )
    + ";\nEND",
    "(q.q_run).*, q.q_next, q.q_webhook",
)
ROUTINES = (_QUEUE_ROUTINE, _FINISH_ROUTINE)


def _enqueue(new: NewRun) -> tuple[bool, Jsonb, str | None, float]:
    """The last parameters of `_QUEUE`'s params: whether the run waits behind runs in flight,
    what the thread learns, the worker offered the run and its lease."""
    enqueue = new.multitask_strategy == "enqueue"
    return enqueue, jsonb(new.thread_metadata), new.worker_id, new.lease_seconds


@no_transaction
async def create_run(tx: Tx, new: NewRun, audit: AuditEntry | None = None) -> Run:
    """Queue a run, applying the multitask strategy to the runs in flight on its thread."""
    if new.multitask_strategy in ("reject", "enqueue"):
        # Nothing in flight is changed: the routine locks the thread and queues in one call.
        # It also appends the audit row and sends the wake-ups: the run's own depends on
        # whether it was handed, so SQL picks it.
        wakeups = (note(tx, queued("running"), new.run_id), note(tx, queued("pending"), new.run_id))
        params = (
            *new.params(jsonb),
            new.after_seconds,
            *_enqueue(new),
            *prepare(audit)[1],
            notes(tx),
            *wakeups,
        )
        cur = await tx.conn.execute(_QUEUE_ROUTINE.call, params)
        row = await cur.fetchone()
        assert row is not None, "the routine always returns one row"
        ids, statuses = row.pop("q_busy_ids"), row.pop("q_busy_statuses")
        if row.pop("q_locked"):
            if row["run_id"] is None:
                busy = list(zip(ids, statuses, strict=True))
                # Refused by the strategy (this raises Conflict), or the run id is taken.
                _policy.replace_inflight(new, busy)
                raise _policy.exists("run", new.run_id)
            sent_by_statement(tx, queued(row["status"]), new.run_id)
            return rec.run(row, COLUMNS)
    async with tx.conn.transaction():
        run = await _create_run_locked(tx, new, audit)
        await send_pending(tx)
    return run


async def _create_run_locked(tx: Tx, new: NewRun, audit: AuditEntry | None) -> Run:
    """Queue a run in the caller's transaction: on a thread that may not exist yet (created
    when the request allows it), or under a strategy that changes the runs in flight."""
    # Locking the thread row serialises run creation per thread, so two concurrent requests
    # cannot both see an idle thread.
    c = tx.conn
    cur = await c.execute(
        "SELECT thread_id FROM threads WHERE thread_id = %s FOR NO KEY UPDATE", (new.thread_id,)
    )
    found = await cur.fetchone() is not None
    if not found:
        if (error := _policy.missing_thread(new)) is not None:
            raise error
        await c.execute(
            "INSERT INTO threads (thread_id, tenant_id, owner, status, metadata)"
            " VALUES (%s, %s, %s, 'busy', %s) ON CONFLICT (thread_id) DO NOTHING",
            (new.thread_id, new.tenant_id, new.owner, jsonb(new.thread_metadata)),
        )
        await c.execute(
            "SELECT 1 FROM threads WHERE thread_id = %s FOR NO KEY UPDATE", (new.thread_id,)
        )
    elif new.thread_metadata:
        # The thread learns which graph it belongs to; keys it already has win.
        await c.execute(
            "UPDATE threads SET metadata = %s::jsonb || metadata WHERE thread_id = %s",
            (jsonb(new.thread_metadata), new.thread_id),
        )
    cur = await c.execute(
        f"SELECT run_id, status FROM runs WHERE thread_id = %s AND status IN {INFLIGHT_SQL}"
        " ORDER BY created_at, run_id FOR NO KEY UPDATE",
        (new.thread_id,),
    )
    inflight = [(r["run_id"], r["status"]) for r in await cur.fetchall()]
    replaced = _policy.replace_inflight(new, inflight)
    for other in replaced.flag:
        await c.execute(
            "UPDATE runs SET cancel_action = %s, updated_at = now() WHERE run_id = %s",
            (new.multitask_strategy, other),
        )
        tx.notify(RUN_CANCEL, other)
    for other in replaced.end:
        await c.execute(_END, ("interrupted", replaced.reason, other))
        tx.notify(RUN_DONE, other)
    cur = await c.execute(
        "INSERT INTO runs (run_id, thread_id, assistant_id, tenant_id, owner, metadata, kwargs,"
        " multitask_strategy, stateless, not_before, status, worker_id, lease_expires_at,"
        " attempt) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s),"
        " %s, %s, now() + make_interval(secs => %s::float8), %s)"
        " ON CONFLICT (run_id) DO NOTHING RETURNING *",
        (*new.params(jsonb), new.after_seconds, *new.start(idle=not inflight)),
    )
    row = await cur.fetchone()
    if row is None:
        raise _policy.exists("run", new.run_id)
    await c.execute(
        "UPDATE threads SET status = 'busy', updated_at = now() WHERE thread_id = %s",
        (new.thread_id,),
    )
    tx.notify(queued(row["status"]), new.run_id)
    await append_entry(tx, audit)  # last: the chain's lock is the transaction's last lock
    return rec.run(row, COLUMNS)


@no_transaction
async def get_run(tx: Tx, run_id: str, thread_id: str | None, *, lock: str = "") -> Run:
    """Return the run, optionally locked (`lock` is a row-lock clause such as FOR UPDATE)."""
    cur = await tx.conn.execute(f"SELECT * FROM runs WHERE run_id = %s {lock}", (run_id,))
    row = await cur.fetchone()
    if row is None or (thread_id is not None and row["thread_id"] != thread_id):
        raise _policy.run_not_found(run_id, thread_id)
    return rec.run(row, COLUMNS)


async def list_runs(
    tx: Tx, thread_id: str, limit: int, offset: int, status: str | None
) -> list[Run]:
    cur = await tx.conn.execute("SELECT 1 FROM threads WHERE thread_id = %s", (thread_id,))
    if await cur.fetchone() is None:
        raise _policy.missing("thread", thread_id)
    cur = await tx.conn.execute(
        "SELECT * FROM runs WHERE thread_id = %(t)s AND (%(s)s::text IS NULL OR status = %(s)s)"
        " ORDER BY created_at DESC, run_id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {"t": thread_id, "s": status, "limit": limit, "offset": offset},
    )
    return [rec.run(r, COLUMNS) for r in await cur.fetchall()]


async def delete_run(tx: Tx, run_id: str, thread_id: str | None) -> None:
    run = await get_run(tx, run_id, thread_id, lock="FOR UPDATE")
    _policy.check_deletable(run_id, run.status)
    await tx.conn.execute("DELETE FROM runs WHERE run_id = %s", (run_id,))


@no_transaction
async def claim_runs(
    tx: Tx, worker_id: str, lease_seconds: float, max_attempts: int, limit: int
) -> list[Run]:
    """Claim up to `limit` runnable runs, ending abandoned runs that used all their attempts.

    The claim is one statement in autocommit (atomic by itself); an exhausted run it finds is
    ended in a transaction of its own, which checks again that it is still exhausted."""
    c = tx.conn
    claimed: list[Run] = []
    passed: list[str] = []  # exhausted runs whose thread another transaction holds
    while len(claimed) < limit:
        cur = await c.execute(
            _TAKE_NEXT, (passed, limit - len(claimed), worker_id, lease_seconds, max_attempts)
        )
        exhausted = []
        for row in await cur.fetchall():
            if row.pop("taken_"):
                claimed.append(rec.run(row, COLUMNS))
            else:
                exhausted.append(row)
        if not exhausted:
            break  # all taken, or the queue is drained
        for row in exhausted:
            async with c.transaction():
                if not await _end_exhausted(tx, row):
                    passed.append(row["run_id"])
    return claimed


async def _end_exhausted(tx: Tx, found: DictRow) -> bool:
    """End a run whose worker died once too often, as the claim `found` it; False if its
    thread is held elsewhere (a later claim ends it) or the run changed since."""
    c = tx.conn
    cur = await c.execute(
        "SELECT 1 FROM threads WHERE thread_id = %s FOR NO KEY UPDATE SKIP LOCKED",
        (found["thread_id"],),
    )
    if await cur.fetchone() is None:
        return False
    reason = _policy.abandoned(found["worker_id"], found["attempt"])
    cur = await c.execute(
        _END + " AND status = 'running' AND lease_expires_at < now()"
        " AND worker_id IS NOT DISTINCT FROM %s AND attempt = %s RETURNING *",
        ("error", reason, found["run_id"], found["worker_id"], found["attempt"]),
    )
    ended = await cur.fetchone()
    if ended is None:
        return False
    await settle_thread(tx, found["thread_id"], "error", reason)
    await outbox.enqueue(tx, rec.run(ended, COLUMNS))  # its webhook tells of the failure
    tx.notify(RUN_DONE, found["run_id"])
    return True


async def renew_lease(tx: Tx, run_id: str, worker_id: str, lease_seconds: float) -> LeaseState:
    cur = await tx.conn.execute(
        "UPDATE runs SET lease_expires_at = now() + make_interval(secs => %s)"
        " WHERE run_id = %s AND worker_id = %s AND status = 'running' RETURNING cancel_action",
        (lease_seconds, run_id, worker_id),
    )
    row = await cur.fetchone()
    if row is None:
        return LeaseState(held=False)
    return LeaseState(held=True, cancel_action=row["cancel_action"])


@no_transaction
async def finish_run(
    tx: Tx, run_id: str, worker_id: str, end: Ending, audit: AuditEntry | None = None
) -> Run | None:
    """End a run held by `worker_id` and settle its thread; None when the lease was lost."""
    _policy.check_final(run_id, end.status)
    params = _finish_params(tx, run_id, worker_id, end, audit)  # the audit row sealed once
    cur = await tx.conn.execute(_FINISH_ROUTINE.call, params)
    row = await cur.fetchone()
    if row is None:
        return None  # the run is gone
    if row.pop("q_webhook"):
        async with tx.conn.transaction():
            finished = await _finish_with_webhook(tx, run_id, params)
            await send_pending(tx)
        return finished
    return _finished(tx, run_id, row, row.pop("q_next"))


async def _finish_with_webhook(tx: Tx, run_id: str, params: tuple[Any, ...]) -> Run | None:
    """End a run naming a webhook in the caller's transaction, with its completion message:
    the webhook commits with the ending and its record, or none does. `params` are the
    ending's, as `_finish_params` gave them for the routine, which declined the run."""
    thread_id = await _lock_thread_of(tx, run_id)
    if thread_id is None:
        return None
    named = dict(zip((n for n, _ in _FINISH_ARGS), params, strict=True))
    cur = await tx.conn.execute(_FINISH, {**named, "t": thread_id})
    row = await cur.fetchone()
    assert row is not None, "the statement always returns one row"
    finished = _finished(tx, run_id, row, row.pop("next_run_"))
    if finished is not None:
        # Its insert comes after the chain's head, the transaction's last lock, and may: it
        # waits for no row lock (the table has no foreign key) and for no other insert of its
        # key, as the message id is the run's and only a transaction ending this run writes
        # it, which must first take the thread and the run this one holds.
        await outbox.enqueue(tx, finished)
    return finished


def _finish_params(
    tx: Tx, run_id: str, worker_id: str, end: Ending, audit: AuditEntry | None
) -> tuple[Any, ...]:
    """The parameters of an ending, in the order of `_FINISH_ARGS`."""
    tenant, given, parts = prepare(audit)[1]
    # The next run's wake-up, spelled around its id (which only the statement knows).
    queued_prefix, queued_suffix = note(tx, RUN_QUEUED, "\n").split("\n")
    return (
        run_id,
        worker_id,
        end.status,
        end.error,
        maybe_jsonb(end.output),
        maybe_jsonb(end.thread_values),
        maybe_jsonb(end.thread_interrupts),
        [e.seq for e in end.events],
        [e.event for e in end.events],
        [e.data for e in end.events],
        tenant,
        given,
        parts,
        notes(tx),
        note(tx, RUN_DONE, run_id),
        queued_prefix,
        queued_suffix,
    )


def _finished(tx: Tx, run_id: str, row: DictRow, following: str | None) -> Run | None:
    """The ended run from the ending's row (None when the lease was lost: nothing written, no
    wake-up sent); the wake-ups the statement sent are delivered here after it."""
    if row["run_id"] is None:
        return None
    sent_by_statement(tx, RUN_DONE, run_id)
    if following is not None:
        sent_by_statement(tx, RUN_QUEUED, following)
    return rec.run(row, COLUMNS)


async def rollback_run(
    tx: Tx, run_id: str, worker_id: str, values: Json | None, interrupts: Json
) -> bool:
    """Delete a running run with its events and checkpoints; restore its thread's state."""
    if not await _lock_thread_of(tx, run_id):
        return False
    c = tx.conn
    cur = await c.execute(
        "DELETE FROM runs WHERE run_id = %s AND worker_id = %s AND status = 'running'"
        " RETURNING thread_id",
        (run_id, worker_id),
    )
    row = await cur.fetchone()
    if row is None:
        return False
    thread_id: str = row["thread_id"]
    await delete_checkpoints(tx, thread_id, run_id)
    await c.execute(
        'UPDATE threads SET "values" = %s, interrupts = %s, state_updated_at = now()'
        " WHERE thread_id = %s",
        (maybe_jsonb(values), jsonb(interrupts), thread_id),
    )
    await settle_thread(tx, thread_id, _policy.outcome_of_state(bool(interrupts)))
    await _wake_after_end(tx, run_id, thread_id)
    return True


async def lease_holders(tx: Tx) -> list[str]:
    cur = await tx.conn.execute(
        "SELECT DISTINCT worker_id FROM runs WHERE status = 'running' AND worker_id IS NOT NULL"
    )
    return [row["worker_id"] for row in await cur.fetchall()]


async def expire_leases(tx: Tx, worker_ids: list[str]) -> int:
    cur = await tx.conn.execute(
        "UPDATE runs SET lease_expires_at = now() - interval '1 second'"
        " WHERE status = 'running' AND worker_id = ANY(%s) RETURNING run_id",
        (worker_ids,),
    )
    expired = [row["run_id"] for row in await cur.fetchall()]
    for run_id in expired:
        tx.notify(RUN_QUEUED, run_id)
    return len(expired)


async def release_run(tx: Tx, run_id: str, worker_id: str) -> bool:
    cur = await tx.conn.execute(
        "UPDATE runs SET status = 'pending', worker_id = NULL, lease_expires_at = NULL,"
        " attempt = GREATEST(attempt - 1, 0), updated_at = now()"
        " WHERE run_id = %s AND worker_id = %s AND status = 'running' RETURNING run_id",
        (run_id, worker_id),
    )
    if await cur.fetchone() is None:
        return False
    tx.notify(RUN_QUEUED, run_id)
    return True


async def cancel_runs(
    tx: Tx, run_ids: Sequence[str], thread_id: str | None, action: str
) -> list[Run]:
    """Cancel in-flight runs; return every named run as it is after the change."""
    after: list[Run] = []
    for run_id in run_ids:
        await _lock_thread_of(tx, run_id)
        run = await get_run(tx, run_id, thread_id, lock="FOR NO KEY UPDATE")
        if run.status == "running":
            cur = await tx.conn.execute(
                "UPDATE runs SET cancel_action = %s, updated_at = now() WHERE run_id = %s"
                " RETURNING *",
                (action, run_id),
            )
            tx.notify(RUN_CANCEL, run_id)
        elif run.status == "pending":
            cur = await tx.conn.execute(
                _END + " RETURNING *",
                ("interrupted", _policy.cancelled_before_start(action), run_id),
            )
            waiting = await is_waiting(tx, run.thread_id)
            await settle_thread(tx, run.thread_id, _policy.outcome_of_state(waiting))
            await _wake_after_end(tx, run_id, run.thread_id)
        else:
            after.append(run)
            continue
        row = await cur.fetchone()
        assert row is not None, "the run is locked for this transaction"
        after.append(rec.run(row, COLUMNS))
    return after


async def _lock_thread_of(tx: Tx, run_id: str) -> str | None:
    """Lock the thread of a run (threads before runs); return its id, None if the run is gone."""
    cur = await tx.conn.execute(
        "SELECT t.thread_id FROM threads t JOIN runs r USING (thread_id) WHERE r.run_id = %s"
        " FOR NO KEY UPDATE OF t",
        (run_id,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["thread_id"])


async def _wake_after_end(tx: Tx, run_id: str, thread_id: str) -> None:
    """A run ended: wake its waiters, and the workers if the thread's next run may go now."""
    tx.notify(RUN_DONE, run_id)
    following = await next_inflight(tx, thread_id)
    if following is not None:
        tx.notify(RUN_QUEUED, following)
