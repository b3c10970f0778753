"""The queue's rules, written once above both backends: which runs are in flight, what each
multitask strategy does to them, how a thread's status follows its runs, and the errors' texts.

The backends' SQL reads the rows and applies what these functions decide, so SQLite and
PostgreSQL cannot drift apart on a rule or on the words of an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from agent_ops.errors import Conflict, InvalidInput, NotFound, StorageError
from agent_ops.types import (
    ASSISTANT_SORT_COLUMNS,
    CRON_SORT_COLUMNS,
    DEFAULT_OWNER,
    DEFAULT_TENANT,
    INFLIGHT_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    THREAD_SORT_COLUMNS,
    IfNotExists,
    Json,
    MultitaskStrategy,
    SortOrder,
    ThreadStatus,
)

# The in-flight statuses as an SQL list, for `status IN ...` (same text on both backends).
INFLIGHT_SQL: Final = "(" + ", ".join(f"'{s}'" for s in sorted(INFLIGHT_RUN_STATUSES)) + ")"


def next_runnable_sql(*, now: str, also: str = "", lock: str = "", limit: str = "1") -> str:
    """The claim's one rule, in a backend's dialect (`now` its clock, `also` a further condition,
    `lock` its row lock, `limit` how many): the oldest runnable run whose thread is free, that
    is nothing running there under a live lease and no older in-flight run queued ahead of it.
    An expired running run is itself the oldest in flight. No two runs found are of one thread
    (the older is in flight ahead of the younger), so `limit` above 1 takes several at once."""
    return f"""
SELECT r.* FROM runs r
WHERE r.status IN {INFLIGHT_SQL}
  AND ((r.status = 'pending' AND r.not_before <= {now})
       OR (r.status = 'running' AND r.lease_expires_at < {now}))
  AND NOT EXISTS (
    SELECT 1 FROM runs o
    WHERE o.thread_id = r.thread_id AND o.run_id <> r.run_id AND o.status IN {INFLIGHT_SQL}
      AND ((o.status = 'running' AND o.lease_expires_at >= {now})
           OR (o.created_at, o.run_id) < (r.created_at, r.run_id))){also}
ORDER BY r.created_at, r.run_id
LIMIT {limit}{lock}
"""


# A copied thread's status: the copy has no run in flight, so a busy source's copy is idle.
COPY_STATUS_SQL: Final = "CASE status WHEN 'busy' THEN 'idle' ELSE status END"


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to queue, as `Storage.create_run` received it (defaults already filled in)."""

    run_id: str
    thread_id: str
    assistant_id: str
    kwargs: Json
    metadata: Json = field(default_factory=dict)
    multitask_strategy: MultitaskStrategy = "reject"
    if_not_exists: IfNotExists = "reject"
    after_seconds: float = 0.0
    stateless: bool = False
    thread_metadata: Json = field(default_factory=dict)
    tenant_id: str = DEFAULT_TENANT
    """The tenant of the run, and of its thread when queuing it creates one."""
    owner: str = DEFAULT_OWNER
    worker_id: str | None = None
    """A worker of the creating process with a free slot: the run is queued already claimed
    by it (the hand-off) when it may start at once."""
    lease_seconds: float = 0.0

    def handed(self, idle: bool) -> bool:
        """Whether the run goes to `worker_id` at once: one was offered, the run has no delay,
        and its thread has no run in flight (`idle`), so no claim could pass it over."""
        return self.worker_id is not None and self.after_seconds <= 0 and idle

    def start(self, idle: bool) -> tuple[str, str | None, float | None, int]:
        """The run's status, worker, lease (seconds from now, None for none) and attempt as it
        is queued: running under the offered worker's lease, or pending for a claim."""
        if self.handed(idle):
            return "running", self.worker_id, self.lease_seconds, 1
        return "pending", None, None, 0

    def params(self, json: Callable[[Any], Any]) -> tuple[Any, ...]:
        """run_id, thread_id, assistant_id, tenant_id, owner, metadata, kwargs,
        multitask_strategy, stateless"""
        return (
            self.run_id,
            self.thread_id,
            self.assistant_id,
            self.tenant_id,
            self.owner,
            json(self.metadata),
            json(self.kwargs),
            self.multitask_strategy,
            self.stateless,
        )


@dataclass(frozen=True, slots=True)
class Replacement:
    """What queuing a run does to the runs already in flight on its thread."""

    flag: list[str]
    """Running runs to flag with `cancel_action` (their worker stops them; RUN_CANCEL)."""
    end: list[str]
    """Pending runs to end `interrupted` at once (RUN_DONE), with `reason` as their error."""
    reason: str = ""


def replace_inflight(new: NewRun, inflight: Sequence[tuple[str, str]]) -> Replacement:
    """Apply the multitask strategy to the thread's in-flight `(run_id, status)`, oldest first.

    `reject` with anything in flight is a Conflict naming the busy run; `interrupt` and
    `rollback` cancel every in-flight run; `enqueue` leaves them to go first.
    """
    strategy = new.multitask_strategy
    if inflight and strategy == "reject":
        busy_id, busy_status = inflight[0]
        raise Conflict(
            f"thread {new.thread_id} is busy (run {busy_id} is {busy_status}); use "
            "multitask_strategy=enqueue to queue, or interrupt/rollback to replace it"
        )
    if strategy not in ("interrupt", "rollback"):
        return Replacement(flag=[], end=[])
    return Replacement(
        flag=[run_id for run_id, status in inflight if status == "running"],
        end=[run_id for run_id, status in inflight if status != "running"],
        reason=f"cancelled by run {new.run_id} (multitask_strategy={strategy})",
    )


def missing_thread(new: NewRun) -> NotFound | None:
    """The error for queuing on a thread that does not exist, unless the run may create it."""
    if new.if_not_exists == "create":
        return None
    return NotFound(f"thread {new.thread_id} not found; use if_not_exists='create' to create it")


def not_open() -> StorageError:
    return StorageError("storage is not open; call open() first")


def missing(kind: str, name: str) -> NotFound:
    """`assistant 3f2c... not found` (kind: assistant, thread, run, cron)."""
    return NotFound(f"{kind} {name} not found")


def exists(kind: str, name: str) -> Conflict:
    return Conflict(f"{kind} {name} already exists")


def keep_existing(if_exists: str, kind: str, name: str) -> None:
    """On an insert that found the id taken: return when `if_exists` is "do_nothing" (the
    caller answers with the stored one), else raise Conflict."""
    if if_exists != "do_nothing":
        raise exists(kind, name)


def intake_missing(source: str, key: str) -> NotFound:
    return NotFound(f"intake item {key!r} of source {source!r} not found")


def key_missing(key_id: str) -> NotFound:
    return NotFound(f"API key {key_id!r} does not exist (see `agent-ops keys list`)")


def no_version(assistant_id: str, version: int) -> NotFound:
    return NotFound(f"assistant {assistant_id} has no version {version}")


def run_not_found(run_id: str, thread_id: str | None) -> NotFound:
    where = f" on thread {thread_id}" if thread_id else ""
    return NotFound(f"run {run_id} not found{where}")


def check_deletable(run_id: str, status: str) -> None:
    """A run in flight is cancelled before it is deleted."""
    if status in INFLIGHT_RUN_STATUSES:
        raise Conflict(f"run {run_id} is {status}; cancel it before deleting it")


def check_final(run_id: str, status: str) -> None:
    if status not in TERMINAL_RUN_STATUSES:
        raise InvalidInput(f"cannot finish run {run_id} with status {status!r}; it is not final")


def outcome_of_finish(status: str, error: str | None, waiting: bool) -> ThreadStatus:
    """The thread's status after its run ended with `status` (unless another run is in flight).

    An interrupted run without an error paused itself (an `interrupt()` or a breakpoint): its
    thread waits for whoever continues it, as on the LangGraph server, even with no interrupt
    to answer (a breakpoint). A cancelled one (its error says why) leaves the thread waiting
    only while interrupts do (`waiting`).
    """
    if status == "success":
        return "idle"
    if status == "interrupted":
        return "interrupted" if waiting or error is None else "idle"
    return "error"


def outcome_of_finish_sql(status: str, error: str, waiting: str) -> str:
    """`outcome_of_finish` as an SQL expression over the expressions `status`, `error` and
    `waiting`, for a backend that ends a run and settles its thread in one statement."""
    return (
        f"(CASE {status} WHEN 'success' THEN 'idle'"
        f" WHEN 'interrupted' THEN CASE WHEN {waiting} OR {error} IS NULL"
        " THEN 'interrupted' ELSE 'idle' END"
        " ELSE 'error' END)"
    )


def outcome_of_state(waiting: bool) -> ThreadStatus:
    """The thread's status when no run decides it: interrupted while interrupts wait."""
    return "interrupted" if waiting else "idle"


def abandoned(worker_id: str | None, attempt: int) -> str:
    """The error of a run whose worker died once too often."""
    return (
        f"run abandoned: worker {worker_id} stopped heartbeating; gave up after {attempt} attempts"
    )


def cancelled_before_start(action: str) -> str:
    return f"cancelled before it started ({action})"


# The tables a search may sort, with their sortable columns and the id that breaks ties.
SORTABLE: Final = {
    "assistants": (ASSISTANT_SORT_COLUMNS, "assistant_id"),
    "threads": (THREAD_SORT_COLUMNS, "thread_id"),
    "crons": (CRON_SORT_COLUMNS, "cron_id"),
}


def order(
    sort_by: str | None, sort_order: SortOrder | None, allowed: frozenset[str], default: str
) -> tuple[str, str]:
    """Return `(column, ASC|DESC)` for a whitelisted column; unknown columns are InvalidInput."""
    column = sort_by or default
    if column not in allowed:
        raise InvalidInput(f"sort_by {column!r} is not one of {sorted(allowed)}")
    return column, "ASC" if sort_order == "asc" else "DESC"


def substring_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with `\\` escaping the wildcards in it."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def labels(namespace: Sequence[str]) -> list[str]:
    """Validate a store namespace: a non-empty sequence of non-empty labels."""
    found = list(namespace)
    if not found or any(not label for label in found):
        raise InvalidInput(f"store namespace {found!r} must be non-empty labels")
    return found
