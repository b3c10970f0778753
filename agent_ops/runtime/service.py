"""The runtime: the one door through which the server, the CLI and triggers reach agent-ops.

`Runtime` composes one object per concept (`runs`, `threads`, `assistants`, `crons`, `items`,
`triggers`), each owning its rules, and runs this process's share of the work: workers, the
cron scheduler, the sweeper. It is a thin facade on purpose: the use cases live in the concept
modules, where a tenant check or an audit record can be added once; what stays here is the
wiring and the life cycle, which belong to no single concept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent_ops import governance
from agent_ops.deps import Deps
from agent_ops.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from agent_ops.observability.metrics import (
    QUEUE_DEPTH,
    QUEUE_OLDEST_AGE,
    REGISTRY,
    RUNS_BY_STATUS,
    WORKERS,
)
from agent_ops.runtime.assistants import Assistants
from agent_ops.runtime.crons import Crons, CronScheduler
from agent_ops.runtime.intake import IntakeTriggers, Trigger
from agent_ops.runtime.items import Items
from agent_ops.runtime.periodic import cancel_and_wait, every
from agent_ops.runtime.registry import GraphRegistry, default_assistant_id, load_attr
from agent_ops.runtime.runs import Runs
from agent_ops.runtime.store import ServerStore, build_index
from agent_ops.runtime.streams import StreamBus
from agent_ops.runtime.thread_streams import ThreadStreams
from agent_ops.runtime.threads import Threads
from agent_ops.runtime.webhooks import WebhookDeliverer
from agent_ops.runtime.worker import WorkerPool
from agent_ops.settings import Settings
from agent_ops.storage import RUN_DONE, AuditRecord, QueueStats, Run, Storage
from agent_ops.storage.encryption import Keyring
from agent_ops.types import RUN_STATUSES, Backend
from agent_ops.values import Limits

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of `Runtime.metrics` (Prometheus text exposition)."""


class Runtime:
    """Owns one process's share of agent-ops: store connection, graphs, bus and workers."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        registry: GraphRegistry,
        *,
        workers: int | None = None,
        triggers: Sequence[Trigger] = (),
        deps: Deps | None = None,
    ) -> None:
        self.settings = settings
        # What this runtime's graphs get per run; it owns them (started and closed with it).
        self.deps = deps if deps is not None else Deps(public_url=settings.url)
        # The composition root (CLI) and the runtime's own modules use storage and the
        # registry; the server goes through the concept objects below.
        self.storage = storage
        # Checkpoints and store values, sealed under the key, opened with it or an old one.
        storage.encrypt_at_rest(Keyring(settings.checkpoint_key, settings.old_keys))
        self.registry = registry
        self.bus: StreamBus | None = None
        self.store = ServerStore(storage)
        self._thread_streams: ThreadStreams | None = None
        self.workers: WorkerPool | None = None
        self._worker_count = settings.workers if workers is None else workers
        self._unlisten: list[Any] = []
        self._background: list[asyncio.Task[None]] = []
        self._deliverer: asyncio.Task[None] | None = None
        self.approvals = governance.ApprovalPolicy.from_settings(settings)
        # The per-field size limits, checked by each concept before it writes.
        limits = Limits(
            input_bytes=settings.max_input_bytes,
            metadata_bytes=settings.max_metadata_bytes,
            store_value_bytes=settings.max_store_value_bytes,
        )
        self.threads = Threads(
            storage,
            registry,
            lambda: self.thread_streams,
            approvals=self.approvals,
            limits=limits,
        )
        self.assistants = Assistants(storage, registry, limits=limits, threads=self.threads)
        self.runs = Runs(
            storage,
            self.assistants,
            lambda: self.stream_bus,
            poll_seconds=settings.poll_seconds,
            webhook_allow_private=settings.webhook_allow_private,
            max_batch=settings.max_batch_runs,
            approvals=self.approvals,
            limits=limits,
            workers=lambda: self.workers,
        )
        self.crons = Crons(
            storage,
            self.assistants,
            limits=limits,
            webhook_allow_private=settings.webhook_allow_private,
        )
        self.items = Items(self.store, limits=limits)
        self.triggers = IntakeTriggers(self, triggers)
        self.auth = governance.Authentication(
            settings, storage, _declared_handler(settings, registry, storage)
        )

    @property
    def backend(self) -> Backend:
        """The storage backend's name: `sqlite` or `postgres`."""
        return self.storage.backend

    async def start(self) -> None:
        base = self.registry.source.parent if self.registry.source else Path.cwd()
        self.store.index = build_index(self.registry.store_config, base)
        await self.storage.open()
        self.store.bind_loop(asyncio.get_running_loop())
        self.registry.bind(self.storage.checkpointer, self.store, self.deps)
        await self.assistants.create_defaults()
        self.bus = StreamBus(self.storage)
        self._thread_streams = ThreadStreams(self.storage, self.bus)
        self._unlisten.append(self.storage.listen(RUN_DONE, self.runs.done))
        if self._worker_count > 0:
            # A bad secret stops here; mail notices go through the connectors' SMTP, if any.
            deliverer = WebhookDeliverer(self.storage, self.settings, mail=self.deps.mail)
            self.workers = WorkerPool(
                self.storage,
                self.registry,
                self.bus,
                self.settings,
                concurrency=self._worker_count,
                on_finished=self.runs.finished_here,
            )
            await self.workers.start()  # from here on runs queued here may go to a free slot
            self._deliverer = asyncio.create_task(
                deliverer.run_forever(), name="agent-ops webhooks"
            )
            self._background = [
                asyncio.create_task(self._sweep_loop(), name="agent-ops sweeper"),
                asyncio.create_task(
                    every(
                        1.0,
                        CronScheduler(self.storage, self.runs.create).tick,
                        "cron scheduler tick failed",
                    ),
                    name="agent-ops crons",
                ),
            ]
            if self.approvals.expire_hours is not None:  # governance: overdue approvals escalate
                sweep = governance.EscalationSweep(self.storage, self.approvals)
                self._background.append(
                    asyncio.create_task(
                        every(
                            self.settings.approval_escalate_sweep_seconds,
                            sweep.sweep,
                            "sweeping for overdue approvals failed; trying again",
                        ),
                        name="agent-ops escalations",
                    )
                )
        try:
            await self.deps.start()
            await self.triggers.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.triggers.stop()
        await cancel_and_wait(*self._background)
        if self.workers is not None:
            await self.workers.stop()
        if self._deliverer is not None:  # after the workers: runs ending in their grace post too
            await cancel_and_wait(self._deliverer)
        for unlisten in self._unlisten:
            unlisten()
        if self.bus is not None:
            await self.bus.close()
        try:
            await self.deps.aclose()  # after the workers: no run uses them any more
        finally:
            await self.storage.close()

    def run_beside(self, loop: Coroutine[Any, Any, None], name: str) -> None:
        """Run another concept's background loop (the triggers' scheduler) until `stop`."""
        self._background.append(asyncio.create_task(loop, name=name))

    @property
    def stream_bus(self) -> StreamBus:
        if self.bus is None:
            raise RuntimeError("runtime is not started")
        return self.bus

    @property
    def thread_streams(self) -> ThreadStreams:
        if self._thread_streams is None:
            raise RuntimeError("runtime is not started")
        return self._thread_streams

    async def admit(self, facts: governance.RequestFacts, route: str) -> governance.Identity | None:
        """Authenticate a request and check its caller's role for `route` (the path template);
        the identity becomes the caller for the rest of the request. Unauthenticated (401) or
        Forbidden (403) naming the role needed."""
        governance.audit.bind_request(facts.method, route)  # audit: rows name the request
        try:
            identity = await self.auth.authenticate(facts)
        except Unauthenticated as exc:  # audit: a refused credential is a governed event
            await self._refused("auth.failed", exc)
            raise
        governance.bind_caller(identity)
        if identity is not None:
            method = "GET" if facts.method == "HEAD" else facts.method
            try:
                operation = governance.authorize(identity, method, route)
            except Forbidden as exc:  # audit: so is a role refusal
                await self._refused("auth.forbidden", exc)
                raise
            await self._check_tenants(facts.path_params, reading=operation.role == "viewer")
        return identity

    async def _refused(self, action: str, exc: Exception) -> None:
        """Record a request refused at the door, with the reason it was given."""
        await governance.audit.record(
            self.storage, action, "request", None, outcome="denied", detail={"reason": str(exc)}
        )

    async def audit_page(
        self, wanted: governance.audit.AuditFilter
    ) -> tuple[list[AuditRecord], str | None]:
        """A page of the caller's tenant's audit trail (every tenant's without authentication)
        and the cursor of the next."""
        return await governance.audit.page(self.storage, wanted, tenant=governance.tenant_filter())

    async def pending_approvals(self) -> list[governance.PendingApproval]:
        """The caller's tenant's interrupts waiting for a decision, oldest first, with the
        approval rules that apply and whether each is overdue (escalating it if so)."""
        pending = await self.approvals.pending(self.storage, governance.tenant_filter())
        readable = await governance.authz.readable_threads(  # an app's @auth.on read filter
            self.storage, [p.thread_id for p in pending]
        )
        return [p for p in pending if readable is None or p.thread_id in readable]

    async def _check_tenants(self, path_params: Mapping[str, str], *, reading: bool) -> None:
        """NotFound for a thread, run, assistant or cron in the path that belongs to another
        tenant, so no route can reach one; a missing one is left to the route to report."""
        for name, value in path_params.items():
            kind = name.removesuffix("_id")
            try:
                if name == "thread_id":
                    row: Any = await self.storage.get_thread(value)
                elif name == "run_id":
                    row = await self.storage.get_run(value)
                elif name == "cron_id":
                    row = await self.storage.get_cron(value)
                elif name == "assistant_id":  # an id, or a graph id naming its default one
                    graph = value in self.registry
                    row = await self.storage.get_assistant(
                        default_assistant_id(value) if graph else value
                    )
                else:
                    continue
            except (NotFound, InvalidInput):
                continue
            # The registry's default assistants are shared for reading, not for changing.
            shared = kind == "assistant" and reading
            if not governance.visible(row.tenant_id, row.owner, shared=shared):
                raise governance.hidden(kind, value)

    @property
    def caller(self) -> governance.Identity | None:
        """The authenticated caller of the request being served (None: authentication off, or
        work no request started: a worker, a trigger, a cron)."""
        return governance.caller()

    async def wait_for_run(
        self, run_id: str, *, thread_id: str | None = None, just_created: bool = False
    ) -> Run:
        """Return the run once it has reached a final status (see `Runs.wait`)."""
        return await self.runs.wait(run_id, thread_id=thread_id, just_created=just_created)

    async def queue_stats(self) -> QueueStats:
        """Return the queue's numbers, counting workers heard from within three heartbeats."""
        return await self.storage.queue_stats(
            live_within_seconds=self.settings.heartbeat_seconds * 3
        )

    async def metrics(self) -> bytes:
        """Return the Prometheus metrics, with the queue's gauges read afresh."""
        stats = await self.queue_stats()
        for status in RUN_STATUSES:
            RUNS_BY_STATUS.labels(status=status).set(stats.runs_by_status.get(status, 0))
        QUEUE_DEPTH.set(stats.pending)
        QUEUE_OLDEST_AGE.set(stats.oldest_pending_age_seconds)
        WORKERS.set(stats.live_workers)
        return generate_latest(REGISTRY)

    # -- housekeeping ---------------------------------------------------------------------------
    async def _sweep_loop(self) -> None:
        shortest = min(
            self.settings.event_retention_seconds, self.settings.stateless_retention_seconds
        )
        interval = max(1.0, min(60.0, shortest / 10))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeping finished runs failed")

    async def sweep(self) -> None:
        """Drop what finished runs no longer need: old stream events, stateless threads."""
        now = datetime.now(UTC)
        events_cutoff = now - timedelta(seconds=self.settings.event_retention_seconds)
        removed = await self.storage.delete_events(finished_before=events_cutoff)
        if removed:
            log.debug("dropped %d stream events past retention", removed)
        stateless_cutoff = now - timedelta(seconds=self.settings.stateless_retention_seconds)
        await self.threads.purge_stateless(finished_before=stateless_cutoff)


def _declared_handler(
    settings: Settings, registry: GraphRegistry, trail: Storage
) -> governance.AuthHandler | None:
    """The auth handler the registry's langgraph.json declares, imported (ConfigError if not)."""
    if registry.source is None:
        return None
    spec = governance.declared_auth(registry.source)
    if spec is None:
        return None
    base = registry.source.resolve().parent
    target = load_attr(spec, base, f"auth handler {spec}", "agent_ops_auth_handler")
    return governance.auth_handler(
        spec, target, default_role=settings.auth_handler_role, trail=trail
    )
