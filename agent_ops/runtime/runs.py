"""Runs: admitting a run request, waiting for, streaming, cancelling and reading runs.

Admission is where a request's rules live once: its assistant resolved and its graph
registered, a resume only of an interrupted thread and only by an approver, the caller's
identity put in the run's config (never taken from the payload), a stateless run on a thread of
its own that is deleted when it finishes. Waiting listens for RUN_DONE and keeps the runs this
process's workers just finished, so a waiter here needs no read to learn the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from agent_ops.errors import BadRequest, InvalidInput, NotFound
from agent_ops.governance import (
    ApprovalPolicy,
    Identity,
    Stamp,
    audit,
    authz,
    caller,
    hidden,
    stamp,
    visible,
)
from agent_ops.runtime.admission import (
    check_nodes,
    check_recursion_limit,
    check_run_sizes,
    check_webhook,
)
from agent_ops.runtime.assistants import Assistants
from agent_ops.runtime.ids import checked_id, new_id
from agent_ops.runtime.requests import RunOptions, RunRequest
from agent_ops.runtime.streams import StreamBus
from agent_ops.runtime.worker import WorkerPool
from agent_ops.storage import (
    AuditEntry,
    IntakeEntry,
    IntakeItem,
    ModelDecision,
    Run,
    RunEvent,
    Storage,
    WebhookMessage,
)
from agent_ops.types import (
    DEFAULT_TENANT,
    INFLIGHT_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    CancelAction,
    CancelStatus,
    IfNotExists,
    Json,
    MultitaskStrategy,
)
from agent_ops.values import DEFAULT_LIMITS, Limits

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """An admitted run request: the run as storage queues it."""

    run_id: str
    thread_id: str
    assistant_id: str
    options: RunOptions
    metadata: Json
    multitask_strategy: MultitaskStrategy
    if_not_exists: IfNotExists
    after_seconds: float
    stateless: bool
    thread_metadata: Json
    caller: Stamp
    """The tenant and owner of the run (and of a thread it creates); empty without a caller."""
    answers: Json | None = None
    """For a resume: the interrupts it answers and the decision, as the audit trail records."""

    def row(self) -> _RunRow:
        """Return what every way of queueing a run stores: ids, options, metadata."""
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "kwargs": self.options.to_json(),
            "metadata": self.metadata,
            "thread_metadata": self.thread_metadata,
        }


class _RunRow(TypedDict):
    run_id: str
    thread_id: str
    assistant_id: str
    kwargs: Json
    metadata: Json
    thread_metadata: Json


class Runs:
    """The runs of one store, admitted against one registry's assistants."""

    def __init__(
        self,
        storage: Storage,
        assistants: Assistants,
        bus: Callable[[], StreamBus],
        *,
        poll_seconds: float,
        webhook_allow_private: bool = False,
        max_batch: int = 100,
        approvals: ApprovalPolicy | None = None,
        limits: Limits = DEFAULT_LIMITS,
        workers: Callable[[], WorkerPool | None] = lambda: None,
    ) -> None:
        self._storage = storage
        self._approvals = approvals or ApprovalPolicy()
        self._limits = limits
        self._webhook_allow_private = webhook_allow_private
        self._max_batch = max_batch
        self._assistants = assistants
        self._bus = bus
        self._poll_seconds = poll_seconds
        self._waiters: dict[str, set[asyncio.Event]] = {}
        # This process's workers, once started (None without): a run queued here may be
        # handed to them.
        self._workers = workers
        self._finished_here: dict[str, Run] = {}
        # Reads ask an app's `@auth.on` handlers (governance.authz) about the run's thread.

    async def get(self, run_id: str, *, thread_id: str | None = None) -> Run:
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id, "run_id": run_id})
        return await self._storage.get_run(run_id, thread_id=thread_id)

    async def for_thread(self, thread_id: str, **page: Any) -> list[Run]:
        """The thread's runs (`Storage.list_runs` arguments)."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id})  # governance
        return await self._storage.list_runs(thread_id, **page)

    # -- admission ---------------------------------------------------------------------------------
    async def plan(
        self, thread_id: str | None, request: RunRequest, *, sized: bool = True
    ) -> RunPlan:
        """Check a run request and resolve its assistant; return the run as storage queues it.
        `sized`: hold its input and metadata to the size limits (a client's request)."""
        asked = _asked(thread_id, request)
        filter = await authz.guard_run(self._storage, asked)  # governance: may set metadata
        request = replace(request, metadata=asked.get("metadata"))
        if sized:
            self._limits.metadata(request.metadata)
            check_run_sizes(self._limits, request.options)
        assistant = await self._assistants.resolve(request.assistant_id)
        self._assistants.require_registered(assistant)
        stateless = thread_id is None
        options = request.options
        await self._check_references(thread_id, assistant.assistant_id, options)
        identity = caller()
        if identity is not None:
            if options.command is not None:
                identity.require("approver", f"a run with a command (resume) on thread {thread_id}")
            options = as_caller(options, identity)
        if stateless and options.on_completion is None:
            options = replace(options, on_completion="delete")
        answers = None
        if options.resumes and thread_id is not None:
            thread = await self._storage.get_thread(thread_id)
            if thread.status != "interrupted" and request.multitask_strategy != "enqueue":
                raise BadRequest(
                    f"thread {thread_id} is {thread.status}, not interrupted; "
                    "there is nothing to resume"
                )
            answers = audit.answers(thread.interrupts, options.command)  # audit: what it answers
            if identity is not None:  # governance: four-eyes, two approvers (403 naming the rule)
                answers |= await self._approvals.check(self._storage, thread, identity, answers)
        return RunPlan(
            run_id=new_id(),
            thread_id=thread_id or new_id(),
            assistant_id=assistant.assistant_id,
            options=options,
            metadata=request.metadata or {},
            # The LangGraph server's default: a second run on a busy thread waits its turn.
            multitask_strategy=request.multitask_strategy or "enqueue",
            if_not_exists="create" if stateless else (request.if_not_exists or "reject"),
            after_seconds=float(request.after_seconds or 0),
            stateless=stateless,
            thread_metadata={
                "graph_id": assistant.graph_id,
                "assistant_id": assistant.assistant_id,
                **authz.stamped(filter),  # a thread the run creates stays its creator's
            },
            caller=stamp(),
            answers=answers,
        )

    async def _check_references(
        self, thread_id: str | None, assistant_id: str, options: RunOptions
    ) -> None:
        """Refuse what a run request names but cannot exist: unknown breakpoint nodes, an
        unknown checkpoint, a recursion limit out of range, a webhook the run may not call."""
        check_recursion_limit(options.config)
        if options.webhook is not None:
            check_webhook(options.webhook, allow_private=self._webhook_allow_private)
        breakpoints = [
            (field, names)
            for field, names in (
                ("interrupt_before", options.interrupt_before),
                ("interrupt_after", options.interrupt_after),
            )
            if names and names != "*"
        ]
        checkpoint_id = options.checkpoint_id or (options.checkpoint or {}).get("checkpoint_id")
        if not breakpoints and not checkpoint_id:
            return
        if breakpoints:
            async with self._assistants.graph(assistant_id) as (assistant, graph):
                for field, names in breakpoints:
                    check_nodes(graph, names, field, graph_id=assistant.graph_id)
        if checkpoint_id:
            if thread_id is None:
                raise InvalidInput(
                    f"checkpoint_id {checkpoint_id} names a checkpoint, but a stateless run "
                    "has no thread to take it from"
                )
            ns = (options.checkpoint or {}).get("checkpoint_ns", "")
            found = await self._storage.checkpointer.aget_tuple(
                {
                    "configurable": {
                        "thread_id": thread_id,
                        "checkpoint_ns": ns,
                        "checkpoint_id": checkpoint_id,
                    }
                }
            )
            if found is None:
                raise NotFound(f"checkpoint {checkpoint_id} not found on thread {thread_id}")

    async def create_batch(self, requests: Sequence[RunRequest]) -> list[Run]:
        """Admit every stateless run of a batch first, then queue them: a bad item (or too
        many items) refuses the whole batch before anything is written."""
        if len(requests) > self._max_batch:
            raise InvalidInput(
                f"a batch holds {len(requests)} runs, more than the limit of {self._max_batch} "
                "(AGENT_OPS_MAX_BATCH_RUNS)"
            )
        plans = []
        for index, request in enumerate(requests):
            try:
                plans.append(await self.plan(None, request))
            except (InvalidInput, NotFound, BadRequest) as exc:
                raise type(exc)(f"batch item {index}: {exc}") from None
        return [await self._queue(plan) for plan in plans]

    async def create(self, thread_id: str | None, request: RunRequest) -> Run:
        """Admit a run on a thread (or a stateless one when `thread_id` is None) and queue it."""
        return await self._queue(await self.plan(thread_id, request))

    async def _queue(self, plan: RunPlan) -> Run:
        def create(worker_id: str | None, lease_seconds: float) -> Awaitable[Run]:
            # The audit row commits with the run it records, or neither does.
            return self._storage.create_run(
                **plan.row(),
                multitask_strategy=plan.multitask_strategy,
                if_not_exists=plan.if_not_exists,
                after_seconds=plan.after_seconds,
                stateless=plan.stateless,
                **plan.caller,
                audit=self._queued_entry(plan),
                worker_id=worker_id,
                lease_seconds=lease_seconds,
            )

        workers = self._workers()
        if workers is None:  # no workers in this process: a claim elsewhere takes it
            return await create(None, 0.0)
        return await workers.queue(plan.run_id, create)

    @staticmethod
    def _queued_entry(plan: RunPlan) -> AuditEntry:
        """The audit row of a queued run (a resume as the approval it carries)."""
        facts = {"thread_id": plan.thread_id, "assistant_id": plan.assistant_id}
        if plan.options.resumes:
            facts |= plan.answers or {}
        return audit.entry(
            "run.resume" if plan.options.resumes else "run.create",
            "run",
            plan.run_id,
            payload=plan.options.to_json(),
            detail=facts,
            tenant=plan.caller.get("tenant_id") or DEFAULT_TENANT,
        )

    async def create_and_wait(self, thread_id: str | None, request: RunRequest) -> Run:
        """Queue a run and return it finished (its output holds the thread's values)."""
        run = await self.create(thread_id, request.with_values_streamed())
        return await self.wait(run.run_id, just_created=True)

    async def create_for_intake(
        self, entry: IntakeEntry, request: RunRequest
    ) -> tuple[IntakeItem, bool]:
        """Queue the run of an intake item on a new thread with its ledger row, in one
        transaction; return the row and whether this call started the run."""
        # Not sized: an intake's documents are bounded by its source (the folder's max_bytes,
        # the mail server), and a refused mail would only be refused again on every poll.
        plan = await self.plan(new_id(), request, sized=False)
        item, started = await self._storage.create_intake_run(entry, **plan.row())
        if started:  # audit
            await audit.record(
                self._storage,
                "run.create",
                "run",
                item.run_id,
                payload=plan.options.to_json(),
                detail={"thread_id": item.thread_id, "intake": f"{entry.source}/{entry.key}"},
            )
        return item, started

    # -- reading -----------------------------------------------------------------------------------
    async def decisions(self, run_id: str, *, thread_id: str) -> list[ModelDecision]:
        """Return the run's model calls in order; NotFound for a run that never existed."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id, "run_id": run_id})
        decisions = await self._storage.list_decisions(run_id=run_id, thread_id=thread_id)
        if not decisions:
            # The log outlives deleted runs, so only an empty answer needs the run to exist.
            await self._storage.get_run(run_id, thread_id=thread_id)
        return decisions

    async def webhook(self, run_id: str, *, thread_id: str) -> WebhookMessage:
        """Return how the run's webhook delivery stands; NotFound for a run without one."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id, "run_id": run_id})
        for message in await self._storage.run_webhooks(run_id):
            # A deleted run's thread may be gone too: the message's own tenant decides.
            if message.thread_id == thread_id and visible(message.tenant_id, ""):
                return message
        # The outbox outlives deleted (stateless) runs, so only a miss needs the run to exist.
        await self._storage.get_run(run_id, thread_id=thread_id)
        raise NotFound(
            f"run {run_id} has no webhook delivery (it named no webhook, or has not ended)"
        )

    # -- waiting and streaming ---------------------------------------------------------------------
    def finished_here(self, run: Run) -> None:
        """Note a run this process's workers finished, for whoever here waits for it."""
        if run.run_id in self._waiters:
            self._finished_here[run.run_id] = run

    def done(self, run_id: str) -> None:
        """Wake the waiters of a run that reached a final status (RUN_DONE)."""
        for waiter in self._waiters.get(run_id, ()):
            waiter.set()

    async def join(self, run_id: str, *, thread_id: str) -> Run:
        """Return the thread's run once it has finished (NotFound at once if there is none)."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id, "run_id": run_id})
        await self._storage.get_run(run_id, thread_id=thread_id)
        return await self.wait(run_id, thread_id=thread_id)

    async def wait(
        self, run_id: str, *, thread_id: str | None = None, just_created: bool = False
    ) -> Run:
        """Return the run once it has reached a final status.

        `just_created` skips the first read: a run queued a moment ago cannot have finished
        yet, and if it somehow has, the safety-net poll still finds it.
        """
        waiter = asyncio.Event()
        self._waiters.setdefault(run_id, set()).add(waiter)
        try:
            if just_created:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), self._poll_seconds)
            existed = just_created
            while True:
                waiter.clear()
                finished = self._finished_here.get(run_id)
                try:
                    if finished is not None and thread_id in (None, finished.thread_id):
                        run = finished
                    else:
                        run = await self._storage.get_run(run_id, thread_id=thread_id)
                except NotFound:
                    if not existed:
                        raise
                    raise NotFound(
                        f"run {run_id} was rolled back: it was deleted with its checkpoints"
                    ) from None
                existed = True
                if run.status in TERMINAL_RUN_STATUSES:
                    return run
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), self._poll_seconds)
        finally:
            waiters = self._waiters.get(run_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[run_id]
                    self._finished_here.pop(run_id, None)

    async def events(
        self, run: Run, *, after_seq: int = 0, cancel_on_disconnect: bool = False
    ) -> AsyncIterator[RunEvent]:
        """Yield the run's events after `after_seq` until it ends; a subscriber that leaves
        early cancels the run when `cancel_on_disconnect`."""
        finished = False
        try:
            async for event in self._bus().subscribe(run.run_id, after_seq=after_seq):
                yield event
            finished = True
        finally:
            if not finished and cancel_on_disconnect:
                log.info("client left the stream of run %s; cancelling it", run.run_id)
                await asyncio.shield(self._storage.cancel_runs([run.run_id], action="interrupt"))

    async def delete(self, run_id: str, *, thread_id: str | None = None) -> None:
        """Delete a finished run (its events go with it)."""
        await authz.guard_thread(
            self._storage, "delete", {"thread_id": thread_id, "run_id": run_id}
        )
        await self._storage.delete_run(run_id, thread_id=thread_id)
        await audit.record(  # audit
            self._storage, "run.delete", "run", run_id, detail={"thread_id": thread_id}
        )

    # -- cancelling --------------------------------------------------------------------------------
    async def cancel(
        self, run_id: str, *, thread_id: str, action: CancelAction, wait: bool = False
    ) -> Run | None:
        """Cancel a run; with `wait`, return it once it has stopped (None when rolled back:
        it is gone)."""
        await authz.guard_thread(
            self._storage, "update", {"thread_id": thread_id, "action": action}
        )
        await self._storage.cancel_runs([run_id], thread_id=thread_id, action=action)
        await audit.record(  # audit
            self._storage,
            "run.cancel",
            "run",
            run_id,
            detail={"thread_id": thread_id, "action": action},
        )
        if not wait:
            return None
        try:
            return await self.wait(run_id, thread_id=thread_id)
        except NotFound:
            if action != "rollback":
                raise  # a rolled-back run is deleted: its absence is the awaited outcome
            return None

    async def cancel_many(
        self,
        *,
        run_ids: Sequence[str] | None,
        thread_id: str | None,
        status: CancelStatus | None,
        action: CancelAction,
    ) -> None:
        """Cancel the named runs, or a thread's in-flight runs (those of one status)."""
        if run_ids:
            ids = [checked_id(r, "run_id") for r in run_ids]
        elif thread_id:
            runs = await self._storage.list_runs(checked_id(thread_id, "thread_id"), limit=1000)
            wanted = INFLIGHT_RUN_STATUSES if status in (None, "all") else {status}
            ids = [r.run_id for r in runs if r.status in wanted]
        elif status:
            raise InvalidInput("cancelling by status alone needs thread_id or run_ids")
        else:
            raise InvalidInput("give run_ids, or thread_id (optionally with status)")
        if caller() is not None:
            for run_id in ids:  # another tenant's run is as missing as an unknown one
                try:
                    run = await self._storage.get_run(run_id)
                except NotFound:
                    continue  # cancelling leaves unknown runs alone, as it always has
                if not visible(run.tenant_id, run.owner):
                    raise hidden("run", run_id)
                asked = {"thread_id": run.thread_id, "run_id": run_id, "action": action}
                await authz.guard_thread(self._storage, "update", asked)  # governance
        await self._storage.cancel_runs(ids, thread_id=thread_id, action=action)
        for run_id in ids:  # audit
            await audit.record(
                self._storage,
                "run.cancel",
                "run",
                run_id,
                detail={"thread_id": thread_id, "action": action},
            )


def _asked(thread_id: str | None, request: RunRequest) -> dict[str, Any]:
    """A run request as `@auth.on.threads.create_run` handlers read it (LangGraph's value)."""
    return {
        "thread_id": thread_id,
        "assistant_id": request.assistant_id,
        "metadata": dict(request.metadata or {}),
        "multitask_strategy": request.multitask_strategy,
        "if_not_exists": request.if_not_exists,
        "after_seconds": request.after_seconds,
        "kwargs": request.options.to_json(),
    }


def as_caller(options: RunOptions, identity: Identity) -> RunOptions:
    """Return the options with the caller's identity where graphs read it, replacing whatever the
    payload claimed: LangGraph's `langgraph_auth_user*` keys of `config.configurable`, and the
    `by` of a resume answer (the approver recorded on a decision)."""
    config = dict(options.config or {})
    configurable = {
        k: v
        for k, v in (config.get("configurable") or {}).items()
        if not k.startswith("langgraph_auth_")
    }
    configurable.update(
        langgraph_auth_user_id=identity.subject,
        langgraph_auth_user={
            "identity": identity.subject,
            "display_name": identity.display_name or identity.subject,
            "tenant": identity.tenant,
            "role": identity.role,
            "permissions": [identity.role],
            "is_authenticated": True,
        },
        langgraph_auth_permissions=[identity.role],
    )
    config["configurable"] = configurable
    command = options.command
    if command is not None and command.get("resume") is not None:
        command = {**command, "resume": _answered_by(command["resume"], identity.subject)}
    return replace(options, config=config, command=command)


def _answered_by(resume: Any, subject: str) -> Any:
    """A resume answer (a dict, a list of them as agent-inbox sends, or a map of interrupt ids to
    them) with its `by` set to the caller."""
    if isinstance(resume, list):
        return [_answered_by(item, subject) for item in resume]
    if isinstance(resume, dict):
        by_interrupt = "type" not in resume and all(  # {interrupt id: answer}
            isinstance(v, dict) and "type" in v for v in resume.values()
        )
        if resume and by_interrupt:
            return {k: _answered_by(v, subject) for k, v in resume.items()}
        return {**resume, "by": subject}
    return resume
