"""Workers: claim runs from the store, execute them under a heartbeated lease, record the outcome.

One `WorkerPool` per process runs up to `concurrency` runs at once. A run is only ever executed
by the worker holding its lease: the heartbeat renews the lease while the graph runs, however
long a node takes, and if renewal fails for longer than the lease (or the heartbeat task itself
dies) the run is stopped here before another worker may claim it. Cancellation requests arrive
through the store (RUN_CANCEL wake-up, confirmed by the lease renewal).

A run queued in this process while a slot is free is handed to it in the statement that queues
it (`WorkerPool.queue`): it starts here at once, with no claim and no wake-up hop. From there on
it is a claimed run like any other (leased, renewed, taken back by another worker if this
process dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agent_ops.errors import NotFound
from agent_ops.governance import ToolPermissions, acting_as, audit, bind_caller, caller
from agent_ops.observability.metrics import RUN_DURATION, RUNS_FINISHED
from agent_ops.runtime.executor import Executor, RunOutcome, error_outcome
from agent_ops.runtime.liveness import dead_here, this_process
from agent_ops.runtime.periodic import cancel_and_wait
from agent_ops.runtime.registry import GraphRegistry, GraphUnavailable
from agent_ops.runtime.streams import StreamBus
from agent_ops.settings import Settings
from agent_ops.storage import RUN_CANCEL, RUN_QUEUED, AuditEntry, Run, Storage

log = logging.getLogger(__name__)

StopReason = Literal["interrupt", "rollback", "lease_lost", "shutdown"]


@dataclass
class _Running:
    run: Run
    task: asyncio.Task[RunOutcome]
    stop_reason: StopReason | None = None
    last_renewal: float = field(default_factory=time.monotonic)


class WorkerPool:
    """Claims and executes runs in this process."""

    def __init__(
        self,
        storage: Storage,
        registry: GraphRegistry,
        bus: StreamBus,
        settings: Settings,
        *,
        concurrency: int | None = None,
        on_finished: Callable[[Run], None] | None = None,
    ) -> None:
        self.worker_id = this_process().worker_id()
        self._storage = storage
        self._bus = bus
        self._settings = settings
        self._executor = Executor(storage, registry, ToolPermissions.from_settings(settings))
        self._on_finished = on_finished
        self._slots = asyncio.Semaphore(settings.workers if concurrency is None else concurrency)
        self._wake = asyncio.Event()
        self._running: dict[str, _Running] = {}
        # The context runs execute in: the pool's own, never that of the request that queued a
        # handed run (its caller, its audit actor).
        self._home = contextvars.copy_context()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        self._unlisten: list[Callable[[], None]] = []

    async def start(self) -> None:
        self._unlisten = [
            # A run handed to a worker as it is queued raises RUN_STARTED instead: nothing to claim.
            self._storage.listen(RUN_QUEUED, lambda _: self._wake.set()),
            self._storage.listen(RUN_CANCEL, self._on_cancel),
        ]
        await self._storage.heartbeat_worker(
            self.worker_id, hostname=socket.gethostname(), pid=os.getpid()
        )
        await self._take_back_from_the_dead()
        self._loops = [
            asyncio.create_task(self._dispatch(), name="agent-ops dispatch"),
            asyncio.create_task(self._beat(), name="agent-ops worker heartbeat"),
        ]
        log.info("worker %s started (%d slots)", self.worker_id, self._settings.workers)

    async def _take_back_from_the_dead(self) -> None:
        """Expire the leases of workers that ran on this machine and died (a crash, a kill -9),
        so their runs restart now instead of after the lease lapses."""
        dead = dead_here(await self._storage.lease_holders())
        if dead:
            count = await self._storage.expire_leases(dead)
            log.warning(
                "taking back %d runs from %d dead workers of this machine (%s)",
                count,
                len(dead),
                ", ".join(dead),
            )

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming; let in-flight runs finish for the grace period, then re-queue them."""
        grace = self._settings.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        self._stopping = True
        self._wake.set()
        for unlisten in self._unlisten:
            unlisten()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            if pending:
                log.info("re-queueing %d in-flight runs at shutdown", len(self._running))
                for entry in list(self._running.values()):
                    self._stop_run(entry, "shutdown")
                await asyncio.wait(pending, timeout=10)
        await cancel_and_wait(*self._loops)
        with contextlib.suppress(Exception):
            await self._storage.remove_worker(self.worker_id)
        log.info("worker %s stopped", self.worker_id)

    # -- claiming -------------------------------------------------------------------------------
    async def _dispatch(self) -> None:
        while not self._stopping:
            await self._slots.acquire()
            free = 1
            while not self._slots.locked():  # take every free slot: one claim fills them all
                await self._slots.acquire()
                free += 1
            runs: list[Run] = []
            try:
                if not self._stopping:
                    self._wake.clear()
                    runs = await self._storage.claim_runs(
                        worker_id=self.worker_id,
                        lease_seconds=self._settings.lease_seconds,
                        max_attempts=self._settings.max_attempts,
                        limit=free,
                    )
            except Exception:
                log.exception("claiming a run failed; retrying")
                await asyncio.sleep(1.0)
            for _ in range(free - len(runs)):
                self._slots.release()
            for run in runs:
                self._start(run)
            if len(runs) < free and not self._stopping:
                # The queue is drained: sleep until a run is queued (or the safety-net poll).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_seconds)

    # -- the hand-off ---------------------------------------------------------------------------
    async def queue(
        self, run_id: str, create: Callable[[str | None, float], Awaitable[Run]]
    ) -> Run:
        """Queue the run `run_id` with `create(worker_id, lease_seconds)`, offering it a free
        slot here.

        A run the store hands over (queued already claimed by this worker, when it may start at
        once) starts here without a claim; otherwise, or with no slot free, it waits for a
        claim as any queued run does (`create(None, 0)`)."""
        if self._stopping or self._slots.locked():
            return await create(None, 0.0)
        await self._slots.acquire()  # a slot is free: this does not wait
        try:
            # Awaited in this task, not shielded in another, so a cancelled caller is seen here.
            run = await create(self.worker_id, self._settings.lease_seconds)
        except asyncio.CancelledError:
            # The caller gave up, perhaps after the run committed: look, and start it here if
            # so (left alone, it would wait for its lease to lapse and be taken back).
            self._keep(asyncio.ensure_future(self._adopt_if_queued(run_id)))
            raise
        except BaseException:
            self._slots.release()
            raise
        self._adopt(run)
        return run

    async def _adopt_if_queued(self, run_id: str) -> None:
        try:
            run = await self._storage.get_run(run_id)
        except Exception as exc:
            self._slots.release()
            if isinstance(exc, NotFound):  # the queuing rolled back
                return
            raise
        self._adopt(run)

    def _adopt(self, run: Run) -> None:
        """Start a run queued with a slot reserved for it, if the store handed it over; else
        give the slot back."""
        if run.status != "running" or run.worker_id != self.worker_id:
            self._slots.release()
            return
        if self._stopping:  # shutting down meanwhile: back to the queue for another process
            self._slots.release()
            release = self._storage.release_run(run.run_id, worker_id=self.worker_id)
            self._keep(asyncio.ensure_future(release))
            return
        self._start(run)

    def _start(self, run: Run) -> None:
        """Execute a run this worker holds the lease of, in a slot already taken for it."""
        task = asyncio.create_task(
            self._execute(run), name=f"run {run.run_id}", context=self._home.copy()
        )
        self._keep(task)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_seconds)
            try:
                await self._storage.heartbeat_worker(
                    self.worker_id, hostname=socket.gethostname(), pid=os.getpid()
                )
            except Exception:
                log.exception("worker heartbeat failed")

    # -- executing ------------------------------------------------------------------------------
    async def _execute(self, run: Run) -> None:
        started = time.monotonic()
        try:
            await self._execute_claimed(run)
        except Exception:
            log.exception("run %s: recording its outcome failed", run.run_id)
        finally:
            self._running.pop(run.run_id, None)
            self._slots.release()
            RUN_DURATION.observe(time.monotonic() - started)

    async def _execute_claimed(self, run: Run) -> None:
        log.debug(
            "run %s claimed (attempt %d)",
            run.run_id,
            run.attempt,
            extra={"run_id": run.run_id, "thread_id": run.thread_id},
        )
        stream = await self._bus.start(run.run_id, attempt=run.attempt)
        # The graph acts for whoever queued the run: its store items are that tenant's.
        bind_caller(acting_as(run.tenant_id, run.owner, "run"))
        task = asyncio.create_task(self._executor.execute(run, stream))
        entry = _Running(run, task)
        self._running[run.run_id] = entry
        heartbeat = asyncio.create_task(self._heartbeat(entry))
        heartbeat.add_done_callback(lambda t: self._heartbeat_ended(entry, t))
        if run.cancel_action:
            self._stop_run(entry, run.cancel_action)
        try:
            outcome = await task
        except asyncio.CancelledError:
            if entry.stop_reason is None:
                raise
            outcome = None
        except (GraphUnavailable, NotFound) as exc:
            # Its graph could not be had (a factory failed) or its assistant is gone: the run
            # ends in error naming why, rather than staying claimed until its lease runs out.
            log.warning("run %s failed: %s", run.run_id, exc, extra={"run_id": run.run_id})
            outcome = error_outcome(exc, stream)
        finally:
            heartbeat.cancel()
        reason = entry.stop_reason
        if reason is not None and reason != "interrupt":
            await self._bus.finish(stream)
        if reason == "lease_lost":
            log.warning("run %s stopped: its lease was lost", run.run_id)
            self._bus.end(stream)
            return
        if reason == "shutdown":
            await self._storage.release_run(run.run_id, worker_id=self.worker_id)
            self._bus.end(stream)
            return
        if reason == "rollback":
            try:
                await self._roll_back(run)
                self._bus.end(stream)
                return
            except Exception:
                log.exception("run %s: rollback failed; ending it interrupted instead", run.run_id)
        if outcome is None:  # cancelled on request
            outcome = RunOutcome("interrupted", f"cancelled ({reason})", None, {}, {})
        # The record of the outcome and the last events commit with the ending (so whoever sees
        # the run finished finds its record and every event, and a crash leaves neither record
        # nor ending); a lost lease writes neither, only the events.
        last = await self._bus.settle(stream)
        finished = await self._storage.finish_run(
            run.run_id,
            worker_id=self.worker_id,
            status=outcome.status,
            error=outcome.error,
            thread_values=outcome.values,
            thread_interrupts=outcome.interrupts if outcome.values is not None else None,
            output=outcome.output,
            audit=self._outcome_entry(run, outcome),  # audit
            events=last,
        )
        stream.flushed(len(last))
        self._bus.end(stream)
        if finished is None:
            log.warning("run %s finished after its lease was lost; outcome dropped", run.run_id)
            return
        RUNS_FINISHED.labels(status=outcome.status).inc()
        if self._on_finished is not None:
            self._on_finished(finished)
        # A webhook the run asked for is in the outbox now, written by `finish_run` itself;
        # the deliverers of every process post it (runtime/webhooks.py).
        log.info(
            "run %s %s",
            run.run_id,
            outcome.status,
            extra={"run_id": run.run_id, "thread_id": run.thread_id},
        )

    def _outcome_entry(self, run: Run, outcome: RunOutcome) -> AuditEntry:
        """The audit row of what the run's graph did: its steps in order, how it ended, and for a pause
        the interrupts a resume will answer (the same ids its `run.resume` row names)."""
        facts: dict[str, Any] = {
            "thread_id": run.thread_id,
            "attempt": run.attempt,
            "steps": list(outcome.steps),
            "worker": self.worker_id,
        }
        if outcome.error is not None:
            facts["error"] = outcome.error
        if outcome.interrupts:
            facts |= audit.pauses(outcome.interrupts)
        # The graph acted for the run's owner, but this record is the system's: the owner
        # queued the run (its `run.create` row), the worker ran it.
        owner = caller()
        bind_caller(None)
        try:
            return audit.entry(
                f"run.{outcome.status}",
                "run",
                run.run_id,
                payload=outcome.output,
                detail=facts,
                tenant=run.tenant_id,
            )
        finally:
            bind_caller(owner)

    async def _roll_back(self, run: Run) -> None:
        """Delete a cancelled run and what it wrote, as `action=rollback` asks."""
        values, interrupts = await self._executor.state_before(run)
        if await self._storage.rollback_run(
            run.run_id,
            worker_id=self.worker_id,
            thread_values=values,
            thread_interrupts=interrupts,
        ):
            RUNS_FINISHED.labels(status="rollback").inc()
            log.info(
                "run %s rolled back",
                run.run_id,
                extra={"run_id": run.run_id, "thread_id": run.thread_id},
            )
        else:
            log.warning(
                "run %s: rollback after its lease was lost; left to its new worker", run.run_id
            )

    # -- the lease ------------------------------------------------------------------------------
    async def _heartbeat(self, entry: _Running) -> None:
        settings = self._settings
        while not entry.task.done():
            await asyncio.sleep(settings.heartbeat_seconds)
            await self._renew(entry)

    async def _renew(self, entry: _Running) -> None:
        try:
            state = await self._storage.renew_lease(
                entry.run.run_id,
                worker_id=self.worker_id,
                lease_seconds=self._settings.lease_seconds,
            )
        except Exception as exc:
            silent = time.monotonic() - entry.last_renewal
            log.warning(
                "run %s: lease renewal failed (%s); %.1fs since the last one",
                entry.run.run_id,
                exc,
                silent,
            )
            # Stop before the lease can expire, so no second worker runs it beside this one.
            if silent > self._settings.lease_seconds * 0.8:
                self._stop_run(entry, "lease_lost")
            return
        if not state.held:
            self._stop_run(entry, "lease_lost")
            return
        entry.last_renewal = time.monotonic()
        if state.cancel_action is not None:
            self._stop_run(entry, state.cancel_action)

    def _heartbeat_ended(self, entry: _Running, heartbeat: asyncio.Task[None]) -> None:
        if heartbeat.cancelled() or entry.task.done():
            return
        log.error(
            "run %s: heartbeat task died (%s); stopping the run",
            entry.run.run_id,
            heartbeat.exception(),
        )
        self._stop_run(entry, "lease_lost")

    def _on_cancel(self, run_id: str) -> None:
        entry = self._running.get(run_id)
        if entry is not None:
            self._keep(asyncio.create_task(self._renew(entry)))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a background task until it ends (shutdown waits for these too)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _stop_run(entry: _Running, reason: StopReason) -> None:
        if entry.stop_reason is None:
            entry.stop_reason = reason
            entry.task.cancel()
