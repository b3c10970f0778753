"""The runtime as the server sees it: storage, graphs, the stream bus and this process's workers.

`Runtime` is where a run is admitted (its assistant resolved, its request checked) and where a
caller waits for one; the server and the CLI reach everything else through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent_ops.errors import BadRequest, InvalidInput, NotFound
from agent_ops.runtime.crons import CronScheduler
from agent_ops.runtime.intake import IntakeTriggers, Trigger
from agent_ops.runtime.registry import GraphRegistry, default_assistant_id
from agent_ops.runtime.store import ServerStore, build_index
from agent_ops.runtime.streams import StreamBus
from agent_ops.runtime.thread_streams import ThreadStreams
from agent_ops.runtime.worker import WorkerPool
from agent_ops.settings import Settings
from agent_ops.storage import RUN_DONE, Assistant, Run, Storage
from agent_ops.types import TERMINAL_RUN_STATUSES, IfNotExists, Json, MultitaskStrategy

log = logging.getLogger(__name__)

SUPPORTED_STREAM_MODES = frozenset(
    {
        "values",
        "updates",
        "custom",
        "checkpoints",
        "tasks",
        "debug",
        "messages",
        "messages-tuple",
        "events",
    }
)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A checked run request: the arguments of `Storage.create_run`."""

    run_id: str
    thread_id: str
    assistant_id: str
    kwargs: Json
    metadata: Json
    multitask_strategy: MultitaskStrategy
    if_not_exists: IfNotExists
    after_seconds: float
    stateless: bool
    thread_metadata: Json

    def arguments(self) -> dict[str, Any]:
        """Return the fields as keyword arguments (shallow: the request's JSON is not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def new_id() -> str:
    """Return a new resource id (UUID4, as the LangGraph server issues them)."""
    return str(uuid.uuid4())


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
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.registry = registry
        self.bus: StreamBus | None = None
        self.store = ServerStore(storage)
        self._thread_streams: ThreadStreams | None = None
        self.workers: WorkerPool | None = None
        self._worker_count = settings.workers if workers is None else workers
        self._waiters: dict[str, set[asyncio.Event]] = {}
        # Runs a worker of this process just finished, kept while someone here waits for them,
        # so a waiter needs no read to learn the outcome.
        self._finished_here: dict[str, Run] = {}
        self._unlisten: list[Any] = []
        self._background: list[asyncio.Task[None]] = []
        self.triggers = IntakeTriggers(self, triggers)

    async def start(self) -> None:
        base = self.registry.source.parent if self.registry.source else Path.cwd()
        self.store.index = build_index(self.registry.store_config, base)
        await self.storage.open()
        self.store.bind_loop(asyncio.get_running_loop())
        self.registry.bind(self.storage.checkpointer, self.store)
        for graph_id in self.registry.ids():
            await self.storage.create_assistant(
                assistant_id=default_assistant_id(graph_id),
                graph_id=graph_id,
                name=graph_id,
                metadata={"created_by": "system"},
                if_exists="do_nothing",
            )
        self.bus = StreamBus(self.storage)
        self._thread_streams = ThreadStreams(self.storage, self.bus)
        self._unlisten.append(self.storage.listen(RUN_DONE, self._run_done))
        if self._worker_count > 0:
            self.workers = WorkerPool(
                self.storage,
                self.registry,
                self.bus,
                self.settings,
                concurrency=self._worker_count,
                on_finished=self._run_finished_here,
            )
            await self.workers.start()
            self._background = [
                asyncio.create_task(self._sweep_loop(), name="agent-ops sweeper"),
                asyncio.create_task(
                    CronScheduler(self.storage, self.create_run).run_forever(),
                    name="agent-ops crons",
                ),
            ]
        try:
            await self.triggers.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.triggers.stop()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.workers is not None:
            await self.workers.stop()
        for unlisten in self._unlisten:
            unlisten()
        if self.bus is not None:
            self.bus.close()
        await self.storage.close()

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

    # -- assistants -----------------------------------------------------------------------------
    async def resolve_assistant(self, assistant_id: str) -> Assistant:
        """Find an assistant by id, or a graph id standing for its default assistant."""
        if assistant_id in self.registry:
            assistant_id = default_assistant_id(assistant_id)
        else:
            try:
                uuid.UUID(assistant_id)
            except ValueError:
                raise NotFound(
                    f"assistant {assistant_id!r} not found: not a UUID and not a registered "
                    f"graph ({', '.join(self.registry.ids())})"
                ) from None
        return await self.storage.get_assistant(assistant_id)

    # -- runs -----------------------------------------------------------------------------------
    async def create_run(
        self,
        thread_id: str | None,
        request: Json,
        *,
        force_values: bool = False,
    ) -> Run:
        """Admit a run on a thread (or a stateless one when `thread_id` is None)."""
        plan = await self.plan_run(thread_id, request, force_values=force_values)
        return await self.storage.create_run(**plan.arguments())

    async def plan_run(
        self,
        thread_id: str | None,
        request: Json,
        *,
        force_values: bool = False,
    ) -> RunPlan:
        """Check a run request and resolve its assistant; return the run as storage queues it."""
        assistant = await self.resolve_assistant(request["assistant_id"])
        if assistant.graph_id not in self.registry:
            raise BadRequest(
                f"assistant {assistant.assistant_id} uses graph {assistant.graph_id!r}, which "
                f"is not registered; registered graphs: {', '.join(self.registry.ids())}"
            )
        kwargs = {k: v for k, v in request.items() if k not in _ROW_FIELDS}
        modes = kwargs.get("stream_mode") or ["values"]
        if isinstance(modes, str):
            modes = [modes]
        unknown = [m for m in modes if m not in SUPPORTED_STREAM_MODES]
        if unknown:
            raise InvalidInput(
                f"stream_mode {unknown[0]!r} is not supported; use one of "
                f"{sorted(SUPPORTED_STREAM_MODES)}"
            )
        if force_values and "values" not in modes:
            modes = [*modes, "values"]
        kwargs["stream_mode"] = modes
        command = kwargs.get("command")
        if command is not None and kwargs.get("input") is not None:
            raise InvalidInput("give either input or command, not both")
        stateless = thread_id is None
        if stateless:
            kwargs.setdefault("on_completion", "delete")
        if command and command.get("resume") is not None and not stateless:
            thread = await self.storage.get_thread(thread_id)  # type: ignore[arg-type]
            if thread.status != "interrupted" and request.get("multitask_strategy") != "enqueue":
                raise BadRequest(
                    f"thread {thread_id} is {thread.status}, not interrupted; "
                    "there is nothing to resume"
                )
        return RunPlan(
            run_id=new_id(),
            thread_id=thread_id or new_id(),
            assistant_id=assistant.assistant_id,
            kwargs=kwargs,
            metadata=request.get("metadata") or {},
            multitask_strategy=request.get("multitask_strategy") or "reject",
            if_not_exists="create" if stateless else (request.get("if_not_exists") or "reject"),
            after_seconds=float(request.get("after_seconds") or 0),
            stateless=stateless,
            thread_metadata={
                "graph_id": assistant.graph_id,
                "assistant_id": assistant.assistant_id,
            },
        )

    def _run_finished_here(self, run: Run) -> None:
        if run.run_id in self._waiters:
            self._finished_here[run.run_id] = run

    def _run_done(self, run_id: str) -> None:
        for waiter in self._waiters.get(run_id, ()):
            waiter.set()

    async def wait_for_run(
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
                    await asyncio.wait_for(waiter.wait(), self.settings.poll_seconds)
            existed = just_created
            while True:
                waiter.clear()
                finished = self._finished_here.get(run_id)
                try:
                    if finished is not None and thread_id in (None, finished.thread_id):
                        run = finished
                    else:
                        run = await self.storage.get_run(run_id, thread_id=thread_id)
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
                    await asyncio.wait_for(waiter.wait(), self.settings.poll_seconds)
        finally:
            waiters = self._waiters.get(run_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[run_id]
                    self._finished_here.pop(run_id, None)

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
        for thread_id in await self.storage.purge_stateless_threads(
            finished_before=stateless_cutoff
        ):
            await self.storage.checkpointer.adelete_thread(thread_id)


# Request fields stored in their own run columns rather than in `kwargs`.
_ROW_FIELDS = frozenset(
    {"assistant_id", "metadata", "multitask_strategy", "if_not_exists", "after_seconds"}
)
