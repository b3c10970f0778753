"""Thread state as the LangGraph server shows it: a checkpoint's snapshot in langgraph-sdk's shape."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt, PregelTask, StateSnapshot

from agent_ops.runtime.serde import to_jsonable
from agent_ops.types import Json


def checkpoint_of(config: RunnableConfig | None) -> Json | None:
    """A checkpoint's address as the LangGraph server shows it: None without a thread and a
    checkpoint id; `checkpoint_map` only where LangGraph set one (a subgraph's checkpoint)."""
    c = (config or {}).get("configurable") or {}
    if not c.get("thread_id") or not c.get("checkpoint_id"):
        return None
    view: Json = {"checkpoint_id": c["checkpoint_id"], "thread_id": c["thread_id"]}
    if "checkpoint_ns" in c:
        view["checkpoint_ns"] = c["checkpoint_ns"] or ""
    if "checkpoint_map" in c:
        view["checkpoint_map"] = c["checkpoint_map"]
    return view


def interrupt_view(interrupt: Interrupt) -> Json:
    """An interrupt in a state: its id and value, and the schema of the answer when the graph
    gave one (`interrupt(..., response_schema=...)`)."""
    view: Json = {"id": interrupt.id, "value": to_jsonable(interrupt.value)}
    if interrupt.response_schema is not None:
        view["response_schema"] = to_jsonable(interrupt.response_schema)
    return view


def task_view(task: PregelTask) -> Json:
    """A pending task: a subgraph's task carries its state when it was read with `subgraphs`,
    else the address of the subgraph's checkpoint."""
    return {
        "id": task.id,
        "name": task.name,
        "path": to_jsonable(task.path),
        "error": None if task.error is None else to_jsonable(task.error),
        "interrupts": [interrupt_view(i) for i in task.interrupts],
        "checkpoint": to_jsonable(task.state["configurable"])
        if isinstance(task.state, dict) and task.state.get("configurable")
        else None,
        "state": snapshot_view(task.state) if isinstance(task.state, StateSnapshot) else None,
        "result": to_jsonable(task.result) if task.result is not None else None,
    }


def snapshot_view(state: StateSnapshot) -> Json:
    """Return a StateSnapshot in the shape of langgraph-sdk's `ThreadState` (with the
    deprecated `checkpoint_id` and `parent_checkpoint_id` the LangGraph server still sends)."""
    checkpoint = checkpoint_of(state.config)
    parent = checkpoint_of(state.parent_config)
    return {
        "values": to_jsonable(state.values),
        "next": list(state.next),
        "tasks": [task_view(task) for task in state.tasks],
        "metadata": to_jsonable(state.metadata or {}),
        "created_at": state.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": [interrupt_view(i) for i in getattr(state, "interrupts", ())],
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
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
        "checkpoint_id": None,
        "parent_checkpoint_id": None,
    }


def state_config(thread_id: str, checkpoint: Json | None = None) -> RunnableConfig:
    """Return the config that reads a thread's state (at `checkpoint`, else the latest)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    for key, value in (checkpoint or {}).items():
        if value is not None and key != "thread_id":
            configurable[key] = value
    return {"configurable": configurable}
