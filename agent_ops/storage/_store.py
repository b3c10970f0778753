"""The `Storage` methods written once above both backends: runs and the queue, stream events,
workers, the decision log, the intake ledger and API keys, over the named resources of `_resources`.

Ids are made here (a thread event's), defaults are filled in here, and each method is one
transaction of the backend's SQL function of the same name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from agent_ops.storage._requests import (
    Ending,
    NewRun,
)
from agent_ops.storage._resources import Resources
from agent_ops.storage.records import (
    ApiKey,
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


class Store(Resources):
    """The whole `Storage` but its connection; each backend subclasses it once."""

    # -- runs and the queue ---------------------------------------------------------------------
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
        )
        queued: Run = await self._tx(self._sql.runs.create_run, new)
        return queued

    async def get_run(self, run_id: str, *, thread_id: str | None = None) -> Run:
        found: Run = await self._tx(self._sql.runs.get_run, run_id, thread_id)
        return found

    async def list_runs(
        self,
        thread_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        status: RunStatus | None = None,
    ) -> list[Run]:
        found: list[Run] = await self._tx(
            self._sql.runs.list_runs, thread_id, limit, offset, status
        )
        return found

    async def delete_run(self, run_id: str, *, thread_id: str | None = None) -> None:
        await self._tx(self._sql.runs.delete_run, run_id, thread_id)

    async def claim_runs(
        self, *, worker_id: str, lease_seconds: float, max_attempts: int, limit: int = 1
    ) -> list[Run]:
        claimed: list[Run] = await self._tx(
            self._sql.runs.claim_runs, worker_id, lease_seconds, max_attempts, limit
        )
        return claimed

    async def renew_lease(self, run_id: str, *, worker_id: str, lease_seconds: float) -> LeaseState:
        lease: LeaseState = await self._tx(
            self._sql.runs.renew_lease, run_id, worker_id, lease_seconds
        )
        return lease

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
        end = Ending(status, error, thread_values, thread_interrupts, output)
        finished: Run | None = await self._tx(self._sql.runs.finish_run, run_id, worker_id, end)
        return finished

    async def rollback_run(
        self,
        run_id: str,
        *,
        worker_id: str,
        thread_values: Json | None,
        thread_interrupts: Json,
    ) -> bool:
        undone: bool = await self._tx(
            self._sql.runs.rollback_run, run_id, worker_id, thread_values, thread_interrupts
        )
        return undone

    async def release_run(self, run_id: str, *, worker_id: str) -> bool:
        released: bool = await self._tx(self._sql.runs.release_run, run_id, worker_id)
        return released

    async def lease_holders(self) -> list[str]:
        holders: list[str] = await self._tx(self._sql.runs.lease_holders)
        return holders

    async def expire_leases(self, worker_ids: Sequence[str]) -> int:
        if not worker_ids:
            return 0
        expired: int = await self._tx(self._sql.runs.expire_leases, list(worker_ids))
        return expired

    async def cancel_runs(
        self, run_ids: Sequence[str], *, thread_id: str | None = None, action: CancelAction
    ) -> list[Run]:
        after: list[Run] = await self._tx(
            self._sql.runs.cancel_runs, list(run_ids), thread_id, action
        )
        return after

    # -- stream events --------------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[RunEvent]) -> None:
        if events:
            await self._tx(self._sql.events.append_events, run_id, list(events))

    async def read_events(self, run_id: str, *, after_seq: int = 0) -> list[RunEvent]:
        found: list[RunEvent] = await self._tx(self._sql.events.read_events, run_id, after_seq)
        return found

    async def delete_events(self, *, finished_before: datetime) -> int:
        removed: int = await self._tx(self._sql.events.delete_events, finished_before)
        return removed

    async def append_thread_event(self, thread_id: str, event: str, data: bytes) -> ThreadEvent:
        stored: ThreadEvent = await self._tx(
            self._sql.events.append_thread_event, thread_id, str(uuid.uuid4()), event, data
        )
        return stored

    async def read_thread_events(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ThreadEvent]:
        found: list[ThreadEvent] = await self._tx(
            self._sql.events.read_thread_events, thread_id, since
        )
        return found

    async def purge_stateless_threads(self, *, finished_before: datetime) -> list[str]:
        purged: list[str] = await self._tx(
            self._sql.events.purge_stateless_threads, finished_before
        )
        return purged

    # -- workers and metrics --------------------------------------------------------------------
    async def heartbeat_worker(self, worker_id: str, *, hostname: str, pid: int) -> None:
        await self._tx(self._sql.workers.heartbeat_worker, worker_id, hostname, pid)

    async def remove_worker(self, worker_id: str) -> None:
        await self._tx(self._sql.workers.remove_worker, worker_id)

    async def queue_stats(self, *, live_within_seconds: float) -> QueueStats:
        stats: QueueStats = await self._tx(self._sql.workers.queue_stats, live_within_seconds)
        return stats

    # -- decision log ---------------------------------------------------------------------------
    async def record_decision(self, decision: ModelDecision) -> None:
        await self._tx(self._sql.decisions.record_decision, decision)

    async def list_decisions(
        self, *, run_id: str | None = None, thread_id: str | None = None
    ) -> list[ModelDecision]:
        found: list[ModelDecision] = await self._tx(
            self._sql.decisions.list_decisions,
            self._clause().equals("run_id", run_id).equals("thread_id", thread_id),
        )
        return found

    # -- intake ledger --------------------------------------------------------------------------
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
        # Queued as `create_run` would with `if_not_exists="create"`.
        new = replace(
            NewRun(run_id, thread_id, assistant_id, kwargs),
            metadata=metadata or {},
            if_not_exists="create",
            thread_metadata=thread_metadata or {},
        )
        taken: tuple[IntakeItem, bool] = await self._tx(
            self._sql.intake.create_intake_run, entry, new
        )
        return taken

    async def get_intake(self, source: str, key: str) -> IntakeItem | None:
        found: IntakeItem | None = await self._tx(self._sql.intake.get_intake, source, key)
        return found

    async def settle_intake(self, source: str, key: str) -> IntakeItem:
        settled: IntakeItem = await self._tx(self._sql.intake.settle_intake, source, key)
        return settled

    async def list_intake(
        self,
        *,
        source: str | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant_id: str | None = None,
    ) -> list[IntakeItem]:
        where = self._clause().equals("source", source).equals("tenant_id", tenant_id)
        found: list[IntakeItem] = await self._tx(self._sql.intake.list_intake, where, limit, offset)
        return found

    # -- API keys -------------------------------------------------------------------------------
    async def create_api_key(self, key: ApiKey) -> ApiKey:
        created: ApiKey = await self._tx(self._sql.keys.create_api_key, key)
        return created

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        found: ApiKey | None = await self._tx(self._sql.keys.get_api_key, key_id)
        return found

    async def list_api_keys(self) -> list[ApiKey]:
        found: list[ApiKey] = await self._tx(self._sql.keys.list_api_keys)
        return found

    async def revoke_api_key(self, key_id: str) -> ApiKey:
        revoked: ApiKey = await self._tx(self._sql.keys.revoke_api_key, key_id)
        return revoked

    # -- audit trail ----------------------------------------------------------------------------
    async def append_audit(
        self, tenant_id: str, seal: Callable[[int, str], AuditRecord]
    ) -> AuditRecord:
        appended: AuditRecord = await self._tx(self._sql.audit.append_audit, tenant_id, seal)
        return appended

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
        found: list[AuditRecord] = await self._tx(self._sql.audit.read_audit, where, limit)
        return found
