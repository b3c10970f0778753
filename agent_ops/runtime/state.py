"""Thread state as the LangGraph server shows it: snapshots, history, updates, copies."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import StateSnapshot

from agent_ops.errors import BadRequest, Conflict, NotFound
from agent_ops.runtime.executor import state_values, thread_interrupts
from agent_ops.runtime.registry import GraphRegistry
from agent_ops.runtime.serde import dumps, to_jsonable
from agent_ops.storage import Storage, Thread
from agent_ops.types import Json


def snapshot_view(state: StateSnapshot) -> Json:
    """Return a StateSnapshot in the shape of langgraph-sdk's `ThreadState`."""

    def checkpoint(config: RunnableConfig | None) -> Json | None:
        if not config:
            return None
        c = config.get("configurable") or {}
        return {
            "thread_id": c.get("thread_id"),
            "checkpoint_ns": c.get("checkpoint_ns", ""),
            "checkpoint_id": c.get("checkpoint_id"),
            "checkpoint_map": c.get("checkpoint_map"),
        }

    tasks = []
    for task in state.tasks:
        tasks.append(
            {
                "id": task.id,
                "name": task.name,
                "path": list(task.path),
                "error": None if task.error is None else repr(task.error),
                "interrupts": [
                    {"value": to_jsonable(i.value), "id": i.id} for i in task.interrupts
                ],
                "checkpoint": None,
                "state": snapshot_view(task.state)
                if isinstance(task.state, StateSnapshot)
                else None,
                "result": to_jsonable(task.result) if task.result is not None else None,
            }
        )
    values = to_jsonable(state.values)
    return {
        "values": values,
        "next": list(state.next),
        "tasks": tasks,
        "checkpoint": checkpoint(state.config),
        "metadata": to_jsonable(state.metadata or {}),
        "created_at": state.created_at,
        "parent_checkpoint": checkpoint(state.parent_config),
        "interrupts": [
            {"value": to_jsonable(i.value), "id": i.id} for i in getattr(state, "interrupts", ())
        ],
    }


def _empty_state() -> Json:
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "checkpoint": None,
        "metadata": {},
        "created_at": None,
        "parent_checkpoint": None,
        "interrupts": [],
    }


class ThreadStates:
    """Reads and writes the checkpointed state of threads through their graph."""

    def __init__(self, storage: Storage, registry: GraphRegistry) -> None:
        self._storage = storage
        self._registry = registry

    async def _graph(self, thread: Thread) -> Pregel | None:
        graph_id = thread.metadata.get("graph_id")
        if not graph_id or graph_id not in self._registry:
            return None
        return await self._registry.get(graph_id, {"configurable": {"thread_id": thread.thread_id}})

    @staticmethod
    def _config(thread_id: str, checkpoint: Json | None = None) -> RunnableConfig:
        configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
        for key, value in (checkpoint or {}).items():
            if value is not None and key != "thread_id":
                configurable[key] = value
        return {"configurable": configurable}

    async def get(
        self, thread_id: str, checkpoint: Json | None = None, subgraphs: bool = False
    ) -> Json:
        thread = await self._storage.get_thread(thread_id)
        graph = await self._graph(thread)
        if graph is None:
            return _empty_state()
        state = await graph.aget_state(self._config(thread_id, checkpoint), subgraphs=subgraphs)
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
        thread = await self._storage.get_thread(thread_id)
        graph = await self._graph(thread)
        if graph is None:
            return []
        return [
            snapshot_view(state)
            async for state in graph.aget_state_history(
                self._config(thread_id, checkpoint),
                limit=limit,
                before=self._config(thread_id, before) if before else None,
                filter=metadata,
            )
        ]

    async def update(
        self, thread_id: str, values: Any, *, as_node: str | None, checkpoint: Json | None
    ) -> Json:
        thread = await self._storage.get_thread(thread_id)
        if thread.status == "busy":
            raise Conflict(f"thread {thread_id} is busy with a run; update its state afterwards")
        graph = await self._graph(thread)
        if graph is None:
            raise BadRequest(
                f"thread {thread_id} has no graph yet; run it once (or create it with a "
                "graph_id in its metadata) before updating its state"
            )
        config = await graph.aupdate_state(
            self._config(thread_id, checkpoint), values, as_node=as_node
        )
        state = await graph.aget_state(self._config(thread_id))
        await self._storage.set_thread_state(
            thread_id,
            values=state_values(state),
            interrupts=thread_interrupts(state),
        )
        view = snapshot_view(state)
        # What the thread stream's `state_update` mode carries, as the LangGraph server sends it.
        await self._storage.append_thread_event(
            thread_id, "state_update", dumps({"state": view, "thread_id": thread_id})
        )
        return {"checkpoint": view["checkpoint"] or config.get("configurable")}

    async def copy(self, thread_id: str, new_thread_id: str) -> Thread:
        """Copy a thread, its metadata and every checkpoint (with pending writes) to a new id."""
        source = await self._storage.get_thread(thread_id)
        await self._storage.create_thread(thread_id=new_thread_id, metadata=source.metadata)
        saver = self._storage.checkpointer
        history = [t async for t in saver.alist({"configurable": {"thread_id": thread_id}})]
        for item in reversed(history):  # oldest first, so parents exist before children
            configurable = item.config["configurable"]
            parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
            target: RunnableConfig = {
                "configurable": {
                    "thread_id": new_thread_id,
                    "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                    **({"checkpoint_id": parent} if parent else {}),
                }
            }
            stored = await saver.aput(
                target, item.checkpoint, item.metadata, item.checkpoint["channel_versions"]
            )
            by_task: dict[str, list[tuple[str, Any]]] = {}
            for task_id, channel, value in item.pending_writes or ():
                by_task.setdefault(task_id, []).append((channel, value))
            for task_id, writes in by_task.items():
                await saver.aput_writes(stored, writes, task_id)
        return await self._storage.set_thread_state(
            new_thread_id,
            values=source.values,
            interrupts=source.interrupts,
            status="idle" if source.status == "busy" else source.status,
        )
