"""Threads: their rows, their checkpointed state and their streams, kept together.

A thread lives in two places, its row (status, metadata, values) and its checkpoints; this
module is the one that creates, copies and deletes both, each copy or delete one transaction
(the checkpointer's tables are in the same database), so no caller or crash leaves half a
thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent_ops.errors import BadRequest, Conflict, InvalidInput, NotFound
from agent_ops.governance import (
    ApprovalPolicy,
    audit,
    authz,
    caller,
    stamp,
    tenant_filter,
    visible,
)
from agent_ops.runtime.admission import STATE_UPDATE_NODES, check_nodes
from agent_ops.runtime.executor import state_values, thread_interrupts
from agent_ops.runtime.ids import checked_id, new_id
from agent_ops.runtime.registry import AccessContext, CompiledGraph, GraphRegistry
from agent_ops.runtime.requests import NEW_THREAD, ThreadRequest
from agent_ops.runtime.serde import dumps
from agent_ops.runtime.state import checkpoint_of, empty_state, snapshot_view, state_config
from agent_ops.runtime.thread_streams import ThreadStreamEvent, ThreadStreams, thread_stream_modes
from agent_ops.storage import ANY_THREAD, FIRST_PAGE, Page, Storage, Thread, ThreadFilter
from agent_ops.types import (
    DEFAULT_TENANT,
    Json,
    PruneStrategy,
)
from agent_ops.values import DEFAULT_LIMITS, Limits


class Threads:
    """The threads of one store, with their state read and written through their graph."""

    def __init__(
        self,
        storage: Storage,
        registry: GraphRegistry,
        streams: Callable[[], ThreadStreams],
        approvals: ApprovalPolicy | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._storage = storage
        self._approvals = approvals or ApprovalPolicy()
        self._limits = limits
        self._registry = registry
        self._streams = streams
        # The runtime's door has checked the tenant of a thread named in the path; searches
        # are limited to the caller's tenant, and each use case asks an app's `@auth.on`
        # handlers (governance.authz) first.

    async def get(self, thread_id: str) -> Thread:
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id})  # governance
        return await self._storage.get_thread(thread_id)

    async def search(self, filter: ThreadFilter, page: Page = FIRST_PAGE) -> list[Thread]:
        """Search the caller's tenant's threads."""
        return await authz.governed_search("threads", filter, page, self._storage.search_threads)

    async def count(self, filter: ThreadFilter = ANY_THREAD) -> int:
        return await authz.governed_count("threads", filter, self._storage.count_threads)

    async def create(self, request: ThreadRequest = NEW_THREAD) -> Thread:
        """Create a thread (a new id unless one is given), replaying its supersteps onto it."""
        supersteps, if_exists = request.supersteps, request.if_exists
        thread_id = checked_id(request.thread_id, "thread_id") if request.thread_id else new_id()
        asked: Json = {
            "thread_id": thread_id,
            "metadata": dict(request.metadata or {}),
            "if_exists": if_exists,
        }
        filter = await authz.check("threads", "create", asked)  # governance: may set metadata
        metadata = asked.get("metadata")
        self._limits.metadata(metadata)
        for step in supersteps:
            for update in step.get("updates", []):
                self._limits.input(update.get("values"), "supersteps[].updates[].values")
        stamped = stamp()
        created = audit.entry(
            "thread.create",
            "thread",
            thread_id,
            payload=metadata,
            tenant=stamped.get("tenant_id") or DEFAULT_TENANT,
        )
        # A new thread's row commits with it; one found by if_exists=do_nothing is recorded
        # below, once the caller may see it.
        found_ok = if_exists == "do_nothing"
        thread = await self._storage.create_thread(
            thread_id=thread_id,
            metadata=metadata,
            if_exists=if_exists or "raise",
            **stamped,
            audit=None if found_ok else created,
        )
        found = visible(thread.tenant_id, thread.owner) and authz.matches(thread.metadata, filter)
        if not found:  # if_exists=do_nothing found another's
            raise Conflict(f"thread {thread_id} already exists")
        if found_ok:
            await audit.record(  # audit
                self._storage,
                "thread.create",
                "thread",
                thread_id,
                payload=metadata,
                tenant=thread.tenant_id,
            )
        if not supersteps:
            return thread
        for step in supersteps:
            for update in step.get("updates", []):
                await self.update_state(
                    thread_id, update.get("values"), as_node=update.get("as_node"), checkpoint=None
                )
        return await self._storage.get_thread(thread_id)

    async def update(self, thread_id: str, *, metadata: Json) -> Thread:
        """Merge `metadata` into the thread's; the merged metadata must fit its limit."""
        asked: Json = {"thread_id": thread_id, "metadata": dict(metadata)}
        await authz.guard_thread(self._storage, "update", asked)  # governance: may set metadata
        metadata = asked.get("metadata") or {}
        self._limits.metadata(metadata)
        current = await self._storage.get_thread(thread_id)
        self._limits.merged_metadata(current.metadata, metadata)
        thread = await self._storage.update_thread(thread_id, metadata=metadata)
        await audit.record(  # audit
            self._storage,
            "thread.update",
            "thread",
            thread_id,
            payload=metadata,
            tenant=thread.tenant_id,
        )
        return thread

    async def delete(self, thread_id: str) -> None:
        """Delete a thread with its runs, events and checkpoints, in one transaction."""
        await authz.guard_thread(self._storage, "delete", {"thread_id": thread_id})  # governance
        await self._storage.delete_thread(thread_id)
        await audit.record(self._storage, "thread.delete", "thread", thread_id)  # audit

    async def prune(self, thread_ids: Sequence[str], *, strategy: PruneStrategy) -> int:
        """Delete the threads (skipping missing ones), or keep only their latest checkpoint;
        return how many were pruned."""
        ids = [checked_id(t, "thread_ids") for t in thread_ids]
        if tenant_filter() is not None:  # another tenant's threads are skipped as missing
            found = await self.search(ThreadFilter(ids=ids), Page(limit=len(ids) or 1))
            ids = [t.thread_id for t in found]
        if strategy == "keep_latest":
            try:
                await self._storage.checkpointer.aprune(ids, strategy="keep_latest")
            except NotImplementedError:
                raise InvalidInput(
                    f"strategy 'keep_latest' is not supported on the {self._storage.backend} "
                    "backend; use 'delete'"
                ) from None
            return len(ids)
        pruned = 0
        for thread_id in ids:
            try:
                await self.delete(thread_id)
            except NotFound:
                continue
            pruned += 1
        return pruned

    async def purge_stateless(self, *, finished_before: datetime) -> None:
        """Delete the threads of stateless runs that finished before the cutoff."""
        await self._storage.purge_stateless_threads(finished_before=finished_before)

    # -- state -------------------------------------------------------------------------------------
    @asynccontextmanager
    async def _graph(
        self, thread: Thread, access: AccessContext = "threads.read"
    ) -> AsyncIterator[CompiledGraph | None]:
        """The graph of the thread's runs, for the block; None when it has had none."""
        graph_id = thread.metadata.get("graph_id")
        if not graph_id or graph_id not in self._registry:
            yield None
            return
        config: RunnableConfig = {"configurable": {"thread_id": thread.thread_id}}
        async with self._registry.open(graph_id, config, access=access) as graph:
            yield graph

    async def state(
        self, thread_id: str, checkpoint: Json | None = None, *, subgraphs: bool = False
    ) -> Json:
        """Return the thread's state (at `checkpoint`, else the latest)."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id})  # governance
        thread = await self._storage.get_thread(thread_id)
        async with self._graph(thread) as graph:
            if graph is None:
                return empty_state()
            state = await graph.aget_state(state_config(thread_id, checkpoint), subgraphs=subgraphs)
        if checkpoint and checkpoint.get("checkpoint_id") and not state.config:
            raise NotFound(
                f"checkpoint {checkpoint['checkpoint_id']} not found on thread {thread_id}"
            )
        return snapshot_view(state)

    async def history(
        self,
        thread_id: str,
        *,
        limit: int,
        before: Json | None,
        metadata: Json | None,
        checkpoint: Json | None,
    ) -> list[Json]:
        """Return the thread's states, newest first."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id})  # governance
        thread = await self._storage.get_thread(thread_id)
        async with self._graph(thread) as graph:
            if graph is None:
                return []
            return [
                snapshot_view(state)
                async for state in graph.aget_state_history(
                    state_config(thread_id, checkpoint),
                    limit=limit,
                    before=state_config(thread_id, before) if before else None,
                    filter=metadata,
                )
            ]

    async def update_state(
        self, thread_id: str, values: Any, *, as_node: str | None, checkpoint: Json | None
    ) -> Json:
        """Write values into the thread's state as if `as_node` had returned them."""
        await authz.guard_thread(self._storage, "update", {"thread_id": thread_id})  # governance
        self._limits.input(values, "values")
        thread = await self._storage.get_thread(thread_id)
        if thread.status == "busy":
            raise Conflict(f"thread {thread_id} is busy with a run; update its state afterwards")
        await self._approvals.guard_state_update(self._storage, thread, caller())  # governance
        async with self._graph(thread, "threads.update") as graph:
            if graph is None:
                raise BadRequest(
                    f"thread {thread_id} has no graph yet; run it once (or create it with a "
                    "graph_id in its metadata) before updating its state"
                )
            graph_id = thread.metadata["graph_id"]
            if as_node is not None:
                check_nodes(graph, [as_node], "as_node", graph_id=graph_id, also=STATE_UPDATE_NODES)
            # With the graph's id in the configurable, LangGraph records it in the checkpoint's
            # metadata, as the LangGraph server's updates carry it.
            target = state_config(thread_id, checkpoint)
            target["configurable"]["graph_id"] = graph_id
            config = await graph.aupdate_state(target, values, as_node=as_node)
            state = await graph.aget_state(state_config(thread_id))
        await self._storage.set_thread_state(
            thread_id,
            values=state_values(state),
            interrupts=thread_interrupts(state),
        )
        view = snapshot_view(state)
        await audit.record(  # audit: a state update can answer an interrupt, as a resume can
            self._storage,
            "thread.update_state",
            "thread",
            thread_id,
            payload={"values": values, "as_node": as_node},
            tenant=thread.tenant_id,
            detail={
                "as_node": as_node,
                "checkpoint_id": (view["checkpoint"] or {}).get("checkpoint_id"),
            },
        )
        # What the thread stream's `state_update` mode carries, as the LangGraph server sends it.
        await self._storage.append_thread_event(
            thread_id, "state_update", dumps({"state": view, "thread_id": thread_id})
        )
        checkpoint = checkpoint_of(config) or view["checkpoint"]
        # With the deprecated `configurable` and `checkpoint_id`, as the LangGraph server answers.
        return {
            "checkpoint": checkpoint,
            "configurable": checkpoint,
            "checkpoint_id": (checkpoint or {}).get("checkpoint_id"),
        }

    async def copy(self, thread_id: str) -> Thread:
        """Copy a thread, its metadata, state and every checkpoint (with pending writes) to a
        new id, in one transaction."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id})  # governance
        copied = await self._storage.copy_thread(thread_id, new_thread_id=new_id())
        await audit.record(  # audit
            self._storage,
            "thread.copy",
            "thread",
            copied.thread_id,
            detail={"from": thread_id},
            tenant=copied.tenant_id,
        )
        return copied

    async def stream(
        self, thread_id: str, modes: Sequence[str], *, last_event_id: str | None = None
    ) -> AsyncIterator[ThreadStreamEvent]:
        """Return the thread's events in `modes` after `last_event_id` (checked first)."""
        await authz.guard_thread(self._storage, "read", {"thread_id": thread_id})  # governance
        return await self._streams().open(
            thread_id, thread_stream_modes(modes), last_event_id=last_event_id
        )
