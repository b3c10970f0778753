"""Threads: create, read, search, update, delete, and their checkpointed state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from agent_ops.runtime import ThreadStreamEvent
from server.deps import RuntimeDep, ThreadId
from server.routes._listing import add_listing
from server.schemas import (
    Checkpoint,
    StateAtCheckpoint,
    ThreadCount,
    ThreadCreate,
    ThreadHistory,
    ThreadPatch,
    ThreadPrune,
    ThreadSearch,
    ThreadStateUpdate,
)
from server.sse import encode, sse_response
from server.stream_slots import StreamSlot
from server.views import thread_view

router = APIRouter(tags=["threads"])


@router.post("/threads")
async def create_thread(body: ThreadCreate, runtime: RuntimeDep) -> dict[str, Any]:
    return thread_view(await runtime.threads.create(body.to_request()))


add_listing(router, "/threads", "threads", (ThreadSearch, ThreadCount), thread_view)


@router.post("/threads/prune")
async def prune_threads(body: ThreadPrune, runtime: RuntimeDep) -> dict[str, int]:
    pruned = await runtime.threads.prune(body.thread_ids, strategy=body.strategy)
    return {"pruned_count": pruned}


@router.post("/threads/{thread_id}/copy")
async def copy_thread(thread_id: ThreadId, runtime: RuntimeDep) -> dict[str, Any]:
    return thread_view(await runtime.threads.copy(thread_id))


@router.get("/threads/{thread_id}")
async def get_thread(thread_id: ThreadId, runtime: RuntimeDep) -> dict[str, Any]:
    return thread_view(await runtime.threads.get(thread_id))


@router.patch("/threads/{thread_id}", response_model=None)
async def patch_thread(
    thread_id: ThreadId,
    body: ThreadPatch,
    runtime: RuntimeDep,
    prefer: Annotated[str | None, Header()] = None,
) -> dict[str, Any] | Response:
    updated = await runtime.threads.update(thread_id, metadata=body.metadata)
    if prefer == "return=minimal":  # the sdk's update(return_minimal=True): no body, as asked
        return Response(status_code=204)
    return thread_view(updated)


@router.delete("/threads/{thread_id}", status_code=204)
async def delete_thread(thread_id: ThreadId, runtime: RuntimeDep) -> Response:
    await runtime.threads.delete(thread_id)
    return Response(status_code=204)


@router.get("/threads/{thread_id}/state")
async def get_state(
    thread_id: ThreadId, runtime: RuntimeDep, subgraphs: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    return await runtime.threads.state(thread_id, subgraphs=subgraphs)


@router.get("/threads/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    thread_id: ThreadId,
    checkpoint_id: str,
    runtime: RuntimeDep,
    subgraphs: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    return await runtime.threads.state(
        thread_id, {"checkpoint_id": checkpoint_id}, subgraphs=subgraphs
    )


@router.post("/threads/{thread_id}/state/checkpoint")
async def post_state_at(
    thread_id: ThreadId, body: StateAtCheckpoint, runtime: RuntimeDep
) -> dict[str, Any]:
    return await runtime.threads.state(
        thread_id, body.checkpoint.model_dump(exclude_none=True), subgraphs=body.subgraphs
    )


@router.post("/threads/{thread_id}/state")
async def update_state(
    thread_id: ThreadId, body: ThreadStateUpdate, runtime: RuntimeDep
) -> dict[str, Any]:
    checkpoint = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else {}
    if body.checkpoint_id:
        checkpoint["checkpoint_id"] = body.checkpoint_id
    return await runtime.threads.update_state(
        thread_id, body.values, as_node=body.as_node, checkpoint=checkpoint or None
    )


@router.post("/threads/{thread_id}/history")
async def history(thread_id: ThreadId, body: ThreadHistory, runtime: RuntimeDep) -> list[Any]:
    before: dict[str, Any] | None
    if isinstance(body.before, Checkpoint):
        before = body.before.model_dump(exclude_none=True)
    elif isinstance(body.before, str):
        before = {"checkpoint_id": body.before}
    else:
        before = None
    return await runtime.threads.history(
        thread_id,
        limit=body.limit,
        before=before,
        metadata=body.metadata,
        checkpoint=body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else None,
    )


@router.get("/threads/{thread_id}/stream", dependencies=[StreamSlot])
async def join_thread_stream(
    thread_id: ThreadId,
    runtime: RuntimeDep,
    last_event_id: Annotated[str | None, Header()] = None,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    stream_modes: str | None = None,
) -> Response:
    # langgraph-sdk sends `stream_mode` (repeated); the LangGraph server reads `stream_modes`
    # (comma-separated). Both are honoured.
    requested = [
        mode.strip()
        for value in [*(stream_mode or ()), *([stream_modes] if stream_modes else ())]
        for mode in value.split(",")
    ]
    events = await runtime.threads.stream(thread_id, requested, last_event_id=last_event_id)
    return sse_response(_encoded(events))


async def _encoded(events: AsyncIterator[ThreadStreamEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode(event)
