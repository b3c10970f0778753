"""The `Storage` methods written once above both backends: runs and the queue, stream events,
workers, the decision log, the intake ledger and API keys, over the named resources
(`_assistants`, `_threads`, `_crons`, `_items`).

Ids are made here (a thread event's), defaults are filled in here, and each method is one
transaction of the backend's SQL function of the same name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from agent_ops.storage._base import Base
from agent_ops.storage._requests import (
    Ending,
    NewRun,
)
from agent_ops.storage.encryption import open_bytes
from agent_ops.storage.records import (
    ApiKey,
    AuditEntry,
    AuditRecord,
    IntakeEntry,
    IntakeItem,
    LeaseState,
    ModelDecision,
    QueueStats,
    Run,
    RunEvent,
    ThreadEvent,
)
from agent_ops.types import (
    DEFAULT_OWNER,
    DEFAULT_TENANT,
    CancelAction,
    IfNotExists,
    Json,
    MultitaskStrategy,
    RunStatus,
)


class Runs(Base):
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
        audit: AuditEntry | None = None,
        worker_id: str | None = None,
        lease_seconds: float = 0.0,
    ) -> Run:
        """Queue a run in one transaction, applying the multitask strategy; `audit` is its
        audit row, appended in the same transaction.

        With `worker_id` (a worker of this process with a free slot), a run that may start at
        once (no `after_seconds`, no other run in flight on its thread) is queued already
        claimed by it, as `claim_runs` would leave it (running, attempt 1, a lease of
        `lease_seconds`): the hand-off, which saves the claim; check `Run.status`. Any other run
        is queued pending, as without it.

        A missing thread is created when `if_not_exists == "create"` (with `thread_metadata`),
        else NotFound; an existing thread gains the `thread_metadata` keys it lacks. With runs in flight on the thread: `reject` raises Conflict naming the
        busy run; `interrupt`/`rollback` cancel them (pending ones at once, running ones by flag
        and a RUN_CANCEL wake-up); `enqueue` waits its turn. The thread becomes busy and
        RUN_QUEUED is notified after commit.
        """
        new = NewRun(
            run_id=run_id,
            thread_id=thread_id,
            assistant_id=assistant_id,
            kwargs=kwargs,
            metadata=metadata or {},
            multitask_strategy=multitask_strategy,
            if_not_exists=if_not_exists,
            after_seconds=after_seconds,
            stateless=stateless,
            thread_metadata=thread_metadata or {},
            tenant_id=tenant_id,
            owner=owner,
            worker_id=worker_id,
            lease_seconds=lease_seconds,
        )
        return await self._tx(self._sql.runs.create_run, new, audit)

    async def get_run(self, run_id: str, *, thread_id: str | None = None) -> Run:
        """Return the run; NotFound if it is missing or belongs to another thread."""
        return await self._tx(self._sql.runs.get_run, run_id, thread_id)

    async def list_runs(
        self,
        thread_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        status: RunStatus | None = None,
    ) -> list[Run]:
        """Return the thread's runs, newest first."""
        return await self._tx(self._sql.runs.list_runs, thread_id, limit, offset, status)

    async def delete_run(self, run_id: str, *, thread_id: str | None = None) -> None:
        """Delete a finished run and its events; Conflict while it is pending or running."""
        await self._tx(self._sql.runs.delete_run, run_id, thread_id)

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
        return await self._tx(
            self._sql.runs.claim_runs, worker_id, lease_seconds, max_attempts, limit
        )

    async def renew_lease(self, run_id: str, *, worker_id: str, lease_seconds: float) -> LeaseState:
        """Extend the lease if `worker_id` still holds it; report a requested cancellation."""
        return await self._tx(self._sql.runs.renew_lease, run_id, worker_id, lease_seconds)

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
        audit: AuditEntry | None = None,
        events: Sequence[RunEvent] = (),
    ) -> Run | None:
        """End a run and update its thread in one transaction; return the finished run, or None
        if the lease was lost. `audit` is the row recording the outcome, appended in the same
        transaction (and not at all when the lease was lost). `events` are the run's last stream
        events, stored in the same transaction (sealed as `append_events` seals them), even when
        the lease was lost, so the ending needs no flush of its own.

        `output` is stored on the run (`Run.output`) for `runs/wait` and `join`.
        Thread status afterwards: busy if another run of the thread is in flight, else
        `interrupted` for an interrupted run, `error` for error/timeout, `idle` for success.
        `thread_values`/`thread_interrupts` given as None leave the stored ones unchanged.
        Notifies RUN_DONE and RUN_QUEUED (the thread's next run may now go).
        """
        stored = [replace(e, data=self._keyring.seal_bytes(e.data)) for e in events]
        end = Ending(status, error, thread_values, thread_interrupts, output, stored)
        return await self._tx(self._sql.runs.finish_run, run_id, worker_id, end, audit)

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
        return await self._tx(
            self._sql.runs.rollback_run, run_id, worker_id, thread_values, thread_interrupts
        )

    async def release_run(self, run_id: str, *, worker_id: str) -> bool:
        """Put a running run back to pending without counting the attempt (graceful shutdown)."""
        return await self._tx(self._sql.runs.release_run, run_id, worker_id)

    async def lease_holders(self) -> list[str]:
        """Return the worker ids holding the leases of running runs."""
        return await self._tx(self._sql.runs.lease_holders)

    async def expire_leases(self, worker_ids: Sequence[str]) -> int:
        """Expire now the leases `worker_ids` hold (their processes are known dead), so the
        next claim takes their runs back as abandoned; return how many runs; notifies
        RUN_QUEUED for each."""
        if not worker_ids:
            return 0
        return await self._tx(self._sql.runs.expire_leases, list(worker_ids))

    async def cancel_runs(
        self, run_ids: Sequence[str], *, thread_id: str | None = None, action: CancelAction
    ) -> list[Run]:
        """Cancel in-flight runs: pending ones end `interrupted` at once; running ones are flagged
        with `cancel_action` and RUN_CANCEL is notified so their worker stops them. Finished runs
        are left alone. Return the runs as they are after the change."""
        return await self._tx(self._sql.runs.cancel_runs, list(run_ids), thread_id, action)


class Events(Base):
    """The stored server-sent events of runs and threads, and their clean-up; under an
    encryption key their data is sealed (`storage.encryption`)."""

    async def append_events(self, run_id: str, events: Sequence[RunEvent]) -> None:
        """Store events (ignoring ones already stored) and notify RUN_EVENTS; their data is
        sealed under the encryption key, if one is set."""
        if events:
            seal = self._keyring.seal_bytes
            stored = [replace(e, data=seal(e.data)) for e in events]
            await self._tx(self._sql.events.append_events, run_id, stored)

    async def read_events(self, run_id: str, *, after_seq: int = 0) -> list[RunEvent]:
        """Return stored events with `seq > after_seq` in order."""
        found: list[RunEvent] = await self._tx(self._sql.events.read_events, run_id, after_seq)
        return [replace(e, data=open_bytes(self._keyring, e.data)) for e in found]

    async def delete_events(self, *, finished_before: datetime) -> int:
        """Drop the events of runs that finished before the cutoff and the thread events
        stored before it; return how many went."""
        return await self._tx(self._sql.events.delete_events, finished_before)

    async def append_thread_event(self, thread_id: str, event: str, data: bytes) -> ThreadEvent:
        """Store an event that happened on the thread outside any run (a state update), stamped
        with the database's time, and notify THREAD_EVENTS; NotFound for a missing thread."""
        sealed = self._keyring.seal_bytes(data)
        stored: ThreadEvent = await self._tx(
            self._sql.events.append_thread_event, thread_id, str(uuid.uuid4()), event, sealed
        )
        return replace(stored, data=data)

    async def read_thread_events(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ThreadEvent]:
        """Return the thread's events stored at or after `since`, oldest first."""
        found: list[ThreadEvent] = await self._tx(
            self._sql.events.read_thread_events, thread_id, since
        )
        return [replace(e, data=open_bytes(self._keyring, e.data)) for e in found]

    async def purge_stateless_threads(self, *, finished_before: datetime) -> list[str]:
        """Delete the threads of stateless runs (`on_completion` "delete", the default) whose
        runs all finished before the cutoff, with their runs and checkpoints; return the
        thread ids."""
        return await self._tx(self._sql.events.purge_stateless_threads, finished_before)


class Workers(Base):
    """Worker processes' heartbeats and the queue's numbers."""

    async def heartbeat_worker(self, worker_id: str, *, hostname: str, pid: int) -> None:
        """Record that a worker process is alive (insert or refresh)."""
        await self._tx(self._sql.workers.heartbeat_worker, worker_id, hostname, pid)

    async def remove_worker(self, worker_id: str) -> None:
        await self._tx(self._sql.workers.remove_worker, worker_id)

    async def queue_stats(self, *, live_within_seconds: float) -> QueueStats:
        return await self._tx(self._sql.workers.queue_stats, live_within_seconds)


class Decisions(Base):
    """The decision log: every model call, appended."""

    async def record_decision(self, decision: ModelDecision) -> None:
        """Append one model call to the decision log."""
        await self._tx(self._sql.decisions.record_decision, decision)

    async def list_decisions(
        self, *, run_id: str | None = None, thread_id: str | None = None
    ) -> list[ModelDecision]:
        """Return the decisions of a run and/or thread in the order they were recorded."""
        return await self._tx(
            self._sql.decisions.list_decisions,
            self._clause().equals("run_id", run_id).equals("thread_id", thread_id),
        )


class Intake(Base):
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
        multitask_strategy: MultitaskStrategy = "reject",
        tenant_id: str = DEFAULT_TENANT,
        owner: str = DEFAULT_OWNER,
    ) -> tuple[IntakeItem, bool]:
        """Record `entry` in the intake ledger and queue its run on a new thread, in one
        transaction; return the ledger row and True.

        If the ledger already holds `(entry.source, entry.key)`, nothing is written and the
        stored row comes back with False, so each item starts exactly one run however many
        processes see it at once. The run is queued as `create_run` would with
        `if_not_exists="create"`; RUN_QUEUED is notified after commit.
        """
        # Queued as `create_run` would with `if_not_exists="create"` (a stored trigger's item
        # may feed an existing thread, its business key's, under the trigger's strategy).
        new = replace(
            NewRun(run_id, thread_id, assistant_id, kwargs),
            metadata=metadata or {},
            if_not_exists="create",
            thread_metadata=thread_metadata or {},
            multitask_strategy=multitask_strategy,
            tenant_id=tenant_id,
            owner=owner,
        )
        return await self._tx(self._sql.intake.create_intake_run, entry, new)

    async def get_intake(self, source: str, key: str) -> IntakeItem | None:
        """Return the ledger row of an item, or None if it was never taken in."""
        return await self._tx(self._sql.intake.get_intake, source, key)

    async def settle_intake(self, source: str, key: str) -> IntakeItem:
        """Record that the item has left its source (first time wins); NotFound if unknown."""
        return await self._tx(self._sql.intake.settle_intake, source, key)

    async def list_intake(
        self,
        *,
        source: str | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant_id: str | None = None,
    ) -> list[IntakeItem]:
        """Return ledger rows, newest first, optionally of one source or one tenant."""
        where = self._clause().equals("source", source).equals("tenant_id", tenant_id)
        return await self._tx(self._sql.intake.list_intake, where, limit, offset)


class ApiKeys(Base):
    """API keys: each an HMAC of the key with the tenant and role it grants."""

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        """Store a new key; its `created_at` is the database's time."""
        return await self._tx(self._sql.keys.create_api_key, key)

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        """Return the key with this id, revoked and expired ones too; None if there is none."""
        return await self._tx(self._sql.keys.get_api_key, key_id)

    async def list_api_keys(self) -> list[ApiKey]:
        """Return every key, oldest first."""
        return await self._tx(self._sql.keys.list_api_keys)

    async def revoke_api_key(self, key_id: str) -> ApiKey:
        """Mark the key revoked (the first revocation's time stays); NotFound if unknown."""
        return await self._tx(self._sql.keys.revoke_api_key, key_id)


class AuditTrail(Base):
    """The audit trail: append-only rows, one hash chain per tenant."""

    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append the entry as its tenant's next row while holding the tenant's chain locked, so
        concurrent appends take distinct, gapless sequences (the first row gets seq 1 and
        prev_hash "0" * 64)."""
        return await self._tx(self._sql.audit.append_audit, entry)

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
        where = (
            self._clause()
            .equals("tenant_id", tenant_id)
            .equals("action", action)
            .equals("actor", actor)
            .equals("resource_type", resource_type)
            .equals("resource_id", resource_id)
        )
        if since is not None:
            where.add(f"at >= {where.placeholder}", since)
        if after is not None:
            p = where.placeholder
            where.add(f"(tenant_id > {p} OR (tenant_id = {p} AND seq > {p}))", after[0], *after)
        return await self._tx(self._sql.audit.read_audit, where, limit)
