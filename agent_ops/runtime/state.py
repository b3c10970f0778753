"""Thread state as the LangGraph server shows it: a checkpoint's snapshot in langgraph-sdk's shape."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from agent_ops.runtime.serde import to_jsonable
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


def empty_state() -> Json:
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


def state_config(thread_id: str, checkpoint: Json | None = None) -> RunnableConfig:
    """Return the config that reads a thread's state (at `checkpoint`, else the latest)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    for key, value in (checkpoint or {}).items():
        if value is not None and key != "thread_id":
            configurable[key] = value
    return {"configurable": configurable}
