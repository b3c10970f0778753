"""The storage seam: what the runtime and server need of a database, met by SQLite and PostgreSQL.

One small protocol per concept (`Assistants`, `Threads`, `Runs`, `Events`, `Items`, `Crons`,
`Workers`, `Decisions`, `Intake`, `ApiKeys`, `AuditTrail`, with `Lifecycle` and `Wakeups`); `Storage` is all of them, and
a part of the runtime that needs one concept can ask for that protocol alone.

Every state change is one transaction in the store, never in process memory, so that a second
process sees the same truth. Wake-ups (`notify`/`listen`) carry no state: a listener re-reads the
store, so a lost or duplicated notification only costs latency (workers also poll as a safety net).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, Literal, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent_ops.storage.records import (
    ApiKey,
    Assistant,
    AuditRecord,
    Cron,
    IntakeEntry,
    IntakeItem,
    LeaseState,
    ModelDecision,
    QueueStats,
    Run,
    RunEvent,
    StoreItem,
    Thread,
    ThreadEvent,
)
from agent_ops.types import (
    DEFAULT_OWNER,
    DEFAULT_TENANT,
    CancelAction,
    IfNotExists,
    Json,
    MultitaskStrategy,
    OnConflictBehavior,
    RunStatus,
    SortOrder,
    ThreadStatus,
)

# Wake-up channels. Payloads are ids; listeners re-read the store.
RUN_QUEUED: Final = "run_queued"  # a run became claimable (payload: run id)
RUN_DONE: Final = "run_done"  # a run reached a terminal status (payload: run id)
RUN_CANCEL: Final = "run_cancel"  # cancellation was requested for a running run (payload: run id)
RUN_EVENTS: Final = "run_events"  # new stream events were stored (payload: run id)
THREAD_EVENTS: Final = "thread_events"  # a thread event was stored (payload: thread id)
CHANNELS: Final = (RUN_QUEUED, RUN_DONE, RUN_CANCEL, RUN_EVENTS, THREAD_EVENTS)

Listener = Callable[[str], None]

__all__ = [
    "ApiKeys",
    "AuditTrail",
    "CHANNELS",
    "RUN_CANCEL",
    "RUN_DONE",
    "RUN_EVENTS",
    "RUN_QUEUED",
    "THREAD_EVENTS",
    "Assistants",
    "Crons",
    "Decisions",
    "Events",
    "Intake",
    "Items",
    "Lifecycle",
    "Listener",
    "Runs",
    "Storage",
    "Threads",
    "Wakeups",
    "Workers",
]


class Lifecycle(Protocol):
    """How a backend is opened, closed and shares its database with LangGraph's checkpointer."""

    backend: Literal["sqlite", "postgres"]

    @property
    def checkpointer(self) -> BaseCheckpointSaver[str]:
        """Return the official LangGraph checkpointer that shares this database."""

    async def open(self) -> None:
        """Connect, apply pending migrations (idempotent, safe from two processes) and listen."""

    async def close(self) -> None: ...


class Wakeups(Protocol):
    """Wake-ups between the processes on one database; they carry ids, never state."""

    async def notify(self, channel: str, payload: str) -> None:
        """Wake listeners of `channel` in this and every other process."""

    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(payload)` on the event loop for each wake-up; return an unsubscribe."""


class Assistants(Protocol):
    """Assistants: a graph with its configuration, versioned on every change."""

    async def create_assistant(
        self,
        *,
        assistant_id: str,
        graph_id: str,
        name: str,
        description: str | None = None,
        config: Json | None = None,
        context: Json | None = None,
        metadata: Json | None = None,
        if_exists: OnConflictBehavior = "raise",
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> Assistant:
        """Insert version 1; on an existing id raise Conflict or return the stored one."""

    async def get_assistant(self, assistant_id: str) -> Assistant: ...

    async def update_assistant(
        self,
        assistant_id: str,
        *,
        graph_id: str | None = None,
        name: str | None = None,
        description: str | None = None,
        config: Json | None = None,
        context: Json | None = None,
        metadata: Json | None = None,
    ) -> Assistant:
        """Store a new version (fields not given are kept, metadata is merged) and make it latest."""

    async def delete_assistant(self, assistant_id: str) -> None: ...

    async def search_assistants(
        self,
        *,
        graph_id: str | None = None,
        name: str | None = None,
        metadata: Json | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
        tenant_id: str | None = None,
    ) -> list[Assistant]:
        """Filter by graph id, name substring (case-insensitive) and metadata containment; with
        `tenant_id`, that tenant's assistants and the shared ones (default tenant, owner
        system: the registry's defaults)."""

    async def count_assistants(
        self,
        *,
        graph_id: str | None = None,
        name: str | None = None,
        metadata: Json | None = None,
        tenant_id: str | None = None,
    ) -> int: ...

    async def list_assistant_versions(
        self, assistant_id: str, *, metadata: Json | None = None, limit: int = 10, offset: int = 0
    ) -> list[Assistant]:
        """Return stored versions, newest first."""

    async def set_assistant_version(self, assistant_id: str, version: int) -> Assistant:
        """Make an earlier version the current one."""


class Threads(Protocol):
    """Threads: a conversation's state and status, outside any one run."""

    async def create_thread(
        self,
        *,
        thread_id: str,
        metadata: Json | None = None,
        if_exists: OnConflictBehavior = "raise",
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> Thread:
        """Insert an idle thread; on an existing id (of any tenant) raise Conflict or return it."""

    async def get_thread(self, thread_id: str) -> Thread: ...

    async def update_thread(self, thread_id: str, *, metadata: Json) -> Thread:
        """Merge `metadata` into the thread's metadata."""

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread with its runs, their events and its checkpoints, in one
        transaction (the official checkpointer's tables are in the same database)."""

    async def copy_thread(self, thread_id: str, *, new_thread_id: str) -> Thread:
        """Copy the thread (metadata, values, interrupts; a busy one's copy is idle) with every
        checkpoint and pending write to `new_thread_id`, in one transaction."""

    async def search_threads(
        self,
        *,
        ids: Sequence[str] | None = None,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
        tenant_id: str | None = None,
    ) -> list[Thread]:
        """Filter by ids, metadata and values containment (top-level keys), status and tenant."""

    async def count_threads(
        self,
        *,
        metadata: Json | None = None,
        values: Json | None = None,
        status: ThreadStatus | None = None,
        tenant_id: str | None = None,
    ) -> int: ...

    async def set_thread_state(
        self,
        thread_id: str,
        *,
        values: Json | None,
        interrupts: Json,
        status: ThreadStatus | None = None,
    ) -> Thread:
        """Record the thread's latest values and interrupts after a state update outside a run.

        `status=None` recomputes it: busy with a run in flight, interrupted with interrupts,
        idle otherwise.
        """


class Runs(Protocol):
    """Runs and the queue: queuing under a multitask strategy, claims, leases, endings."""

    async def create_run(
        self,
        *,
        run_id: str,
        thread_id: str,
        assistant_id: str,
        kwargs: Json,
        metadata: Json | None = None,
        multitask_strategy: MultitaskStrategy = "reject",
        if_not_exists: IfNotExists = "reject",
        after_seconds: float = 0.0,
        stateless: bool = False,
        thread_metadata: Json | None = None,
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> Run:
        """Queue a run in one transaction, applying the multitask strategy.

        A missing thread is created when `if_not_exists == "create"` (with `thread_metadata`),
        else NotFound; an existing thread gains the `thread_metadata` keys it lacks. With runs in flight on the thread: `reject` raises Conflict naming the
        busy run; `interrupt`/`rollback` cancel them (pending ones at once, running ones by flag
        and a RUN_CANCEL wake-up); `enqueue` waits its turn. The thread becomes busy and
        RUN_QUEUED is notified after commit.
        """

    async def get_run(self, run_id: str, *, thread_id: str | None = None) -> Run:
        """Return the run; NotFound if it is missing or belongs to another thread."""

    async def list_runs(
        self,
        thread_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        status: RunStatus | None = None,
    ) -> list[Run]:
        """Return the thread's runs, newest first."""

    async def delete_run(self, run_id: str, *, thread_id: str | None = None) -> None:
        """Delete a finished run and its events; Conflict while it is pending or running."""

    async def claim_runs(
        self, *, worker_id: str, lease_seconds: float, max_attempts: int, limit: int = 1
    ) -> list[Run]:
        """Take up to `limit` runnable runs in one transaction (fewer when fewer are runnable).

        Runnable: pending with `not_before <= now`, or running with an expired lease (its
        worker died). Runs of one thread go one at a time in creation order. The claim sets
        status running, `worker_id`, `lease_expires_at = now + lease_seconds` and
        `attempt += 1`. An expired run that already used `max_attempts` attempts is ended with
        status error and a reason naming the attempts instead of being claimed (RUN_DONE).
        """

    async def renew_lease(self, run_id: str, *, worker_id: str, lease_seconds: float) -> LeaseState:
        """Extend the lease if `worker_id` still holds it; report a requested cancellation."""

    async def finish_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        status: RunStatus,
        error: str | None = None,
        thread_values: Json | None = None,
        thread_interrupts: Json | None = None,
        output: Json | None = None,
    ) -> Run | None:
        """End a run and update its thread in one transaction; return the finished run, or None
        if the lease was lost.

        `output` is stored on the run (`Run.output`) for `runs/wait` and `join`.
        Thread status afterwards: busy if another run of the thread is in flight, else
        `interrupted` for an interrupted run, `error` for error/timeout, `idle` for success.
        `thread_values`/`thread_interrupts` given as None leave the stored ones unchanged.
        Notifies RUN_DONE and RUN_QUEUED (the thread's next run may now go).
        """

    async def rollback_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        thread_values: Json | None,
        thread_interrupts: Json,
    ) -> bool:
        """Undo a running run held by `worker_id` in one transaction; False if the lease was lost.

        The run row, its stream events and every checkpoint it wrote (checkpoint metadata
        `run_id`, all namespaces, with their pending writes) are deleted, and the thread gets
        back the state it had before the run (`thread_values`, `thread_interrupts`). Thread
        status afterwards: busy if another run is in flight, else `interrupted` when
        `thread_interrupts` is not empty, else `idle`. Notifies RUN_DONE and RUN_QUEUED.
        """

    async def release_run(self, run_id: str, *, worker_id: str) -> bool:
        """Put a running run back to pending without counting the attempt (graceful shutdown)."""

    async def lease_holders(self) -> list[str]:
        """Return the worker ids holding the leases of running runs."""

    async def expire_leases(self, worker_ids: Sequence[str]) -> int:
        """Expire now the leases `worker_ids` hold (their processes are known dead), so the
        next claim takes their runs back as abandoned; return how many runs; notifies
        RUN_QUEUED for each."""

    async def cancel_runs(
        self, run_ids: Sequence[str], *, thread_id: str | None = None, action: CancelAction
    ) -> list[Run]:
        """Cancel in-flight runs: pending ones end `interrupted` at once; running ones are flagged
        with `cancel_action` and RUN_CANCEL is notified so their worker stops them. Finished runs
        are left alone. Return the runs as they are after the change."""


class Events(Protocol):
    """The stored server-sent events of runs and threads, and their clean-up."""

    async def append_events(self, run_id: str, events: Sequence[RunEvent]) -> None:
        """Store events (ignoring ones already stored) and notify RUN_EVENTS."""

    async def read_events(self, run_id: str, *, after_seq: int = 0) -> list[RunEvent]:
        """Return stored events with `seq > after_seq` in order."""

    async def delete_events(self, *, finished_before: datetime) -> int:
        """Drop the events of runs that finished before the cutoff and the thread events
        stored before it; return how many went."""

    async def append_thread_event(self, thread_id: str, event: str, data: bytes) -> ThreadEvent:
        """Store an event that happened on the thread outside any run (a state update), stamped
        with the database's time, and notify THREAD_EVENTS; NotFound for a missing thread."""

    async def read_thread_events(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ThreadEvent]:
        """Return the thread's events stored at or after `since`, oldest first."""

    async def purge_stateless_threads(self, *, finished_before: datetime) -> list[str]:
        """Delete the threads of stateless runs (`on_completion` "delete", the default) whose
        runs all finished before the cutoff, with their runs and checkpoints; return the
        thread ids."""


class Items(Protocol):
    """The long-term memory store: JSON items by namespace and key, with TTLs and vectors."""

    async def put_item(
        self,
        namespace: Sequence[str],
        key: str,
        value: Json,
        *,
        ttl_seconds: float | None = None,
        vectors: bytes | None = None,
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> None:
        """Insert or replace an item; `vectors` (its field embeddings) replace the stored ones,
        None leaves the item out of semantic search. Every item method reads and writes one
        tenant's items (`tenant_id`); tenants may use the same namespaces and keys."""

    async def get_item(
        self,
        namespace: Sequence[str],
        key: str,
        *,
        refresh_ttl: bool = True,
        tenant_id: str = DEFAULT_TENANT,
    ) -> StoreItem | None: ...

    async def delete_item(
        self, namespace: Sequence[str], key: str, *, tenant_id: str = DEFAULT_TENANT
    ) -> None: ...

    async def search_items(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        limit: int = 10,
        offset: int = 0,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[StoreItem]:
        """Items under the prefix whose value contains `filter`'s top-level key/values."""

    async def search_vectors(
        self,
        namespace_prefix: Sequence[str],
        *,
        filter: Json | None = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[tuple[StoreItem, bytes]]:
        """Every live item under the prefix that matches `filter` and has vectors, with them."""

    async def list_namespaces(
        self,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
        tenant_id: str = DEFAULT_TENANT,
    ) -> list[tuple[str, ...]]: ...


class Crons(Protocol):
    """Crons: schedules that queue runs, each due firing claimed by one caller."""

    async def create_cron(
        self,
        *,
        cron_id: str,
        assistant_id: str,
        thread_id: str | None,
        schedule: str,
        payload: Json,
        metadata: Json | None,
        next_run_date: datetime,
        end_time: datetime | None,
        enabled: bool = True,
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> Cron: ...

    async def get_cron(self, cron_id: str) -> Cron: ...

    async def update_cron(
        self,
        cron_id: str,
        *,
        schedule: str | None = None,
        payload: Json | None = None,
        metadata: Json | None = None,
        next_run_date: datetime | None = None,
        end_time: datetime | None = None,
        enabled: bool | None = None,
    ) -> Cron: ...

    async def delete_cron(self, cron_id: str) -> None: ...

    async def search_crons(
        self,
        *,
        assistant_id: str | None = None,
        thread_id: str | None = None,
        enabled: bool | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: SortOrder | None = None,
        tenant_id: str | None = None,
    ) -> list[Cron]: ...

    async def count_crons(
        self,
        *,
        assistant_id: str | None = None,
        thread_id: str | None = None,
        tenant_id: str | None = None,
    ) -> int: ...

    async def claim_due_crons(
        self, *, now: datetime, next_run: Callable[[Cron], datetime | None]
    ) -> list[Cron]:
        """Advance every enabled cron due at `now` to `next_run(cron)` (None disables it) in one
        transaction and return them as they were, so each due firing is returned to exactly
        one caller across all processes."""


class Workers(Protocol):
    """Worker processes' heartbeats and the queue's numbers."""

    async def heartbeat_worker(self, worker_id: str, *, hostname: str, pid: int) -> None:
        """Record that a worker process is alive (insert or refresh)."""

    async def remove_worker(self, worker_id: str) -> None: ...

    async def queue_stats(self, *, live_within_seconds: float) -> QueueStats: ...


class Decisions(Protocol):
    """The decision log: every model call, appended."""

    async def record_decision(self, decision: ModelDecision) -> None:
        """Append one model call to the decision log."""

    async def list_decisions(
        self, *, run_id: str | None = None, thread_id: str | None = None
    ) -> list[ModelDecision]:
        """Return the decisions of a run and/or thread in the order they were recorded."""


class Intake(Protocol):
    """The intake ledger: each item a trigger took in, and the run it started."""

    async def create_intake_run(
        self,
        entry: IntakeEntry,
        *,
        run_id: str,
        thread_id: str,
        assistant_id: str,
        kwargs: Json,
        metadata: Json | None = None,
        thread_metadata: Json | None = None,
    ) -> tuple[IntakeItem, bool]:
        """Record `entry` in the intake ledger and queue its run on a new thread, in one
        transaction; return the ledger row and True.

        If the ledger already holds `(entry.source, entry.key)`, nothing is written and the
        stored row comes back with False, so each item starts exactly one run however many
        processes see it at once. The run is queued as `create_run` would with
        `if_not_exists="create"`; RUN_QUEUED is notified after commit.
        """

    async def get_intake(self, source: str, key: str) -> IntakeItem | None:
        """Return the ledger row of an item, or None if it was never taken in."""

    async def settle_intake(self, source: str, key: str) -> IntakeItem:
        """Record that the item has left its source (first time wins); NotFound if unknown."""

    async def list_intake(
        self,
        *,
        source: str | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant_id: str | None = None,
    ) -> list[IntakeItem]:
        """Return ledger rows, newest first, optionally of one source or one tenant."""


class ApiKeys(Protocol):
    """API keys: each an HMAC of the key with the tenant and role it grants."""

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        """Store a new key; its `created_at` is the database's time."""

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        """Return the key with this id, revoked and expired ones too; None if there is none."""

    async def list_api_keys(self) -> list[ApiKey]:
        """Return every key, oldest first."""

    async def revoke_api_key(self, key_id: str) -> ApiKey:
        """Mark the key revoked (the first revocation's time stays); NotFound if unknown."""


class AuditTrail(Protocol):
    """The audit trail: append-only rows, one hash chain per tenant."""

    async def append_audit(
        self, tenant_id: str, seal: Callable[[int, str], AuditRecord]
    ) -> AuditRecord:
        """Append `seal(seq, prev_hash)` as the tenant's next row, in one transaction that holds
        the tenant's chain locked, so concurrent appends take distinct, gapless sequences (the
        first row gets seq 1 and prev_hash "0" * 64)."""

    async def read_audit(
        self,
        *,
        tenant_id: str | None = None,
        since: str | None = None,
        after: tuple[str, int] | None = None,
        action: str | None = None,
        actor: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Return rows in chain order (tenant, then seq), those after the `after` (tenant, seq)
        position, filtered by exact values; `since` compares with `at` (canonical UTC text)."""


class Storage(
    Lifecycle,
    Wakeups,
    Assistants,
    Threads,
    Runs,
    Events,
    Items,
    Crons,
    Workers,
    Decisions,
    Intake,
    ApiKeys,
    AuditTrail,
    Protocol,
):
    """One agent-ops database. All methods are safe to call from several processes at once."""
