"""Threads: create, read, search, update, delete, and their checkpointed state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from agent_ops.errors import InvalidInput, NotFound
from agent_ops.runtime.service import new_id
from agent_ops.runtime.state import ThreadStates
from agent_ops.runtime.thread_streams import ThreadStreamEvent, thread_stream_modes
from server.deps import RuntimeDep, ThreadId, check_uuid
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
from server.views import select_fields, thread_view

router = APIRouter(tags=["threads"])


def _states(runtime: RuntimeDep) -> ThreadStates:
    return ThreadStates(runtime.storage, runtime.registry)


@router.post("/threads")
async def create_thread(body: ThreadCreate, runtime: RuntimeDep) -> dict[str, Any]:
    thread_id = check_uuid(body.thread_id, "thread_id") if body.thread_id else new_id()
    thread = await runtime.storage.create_thread(
        thread_id=thread_id, metadata=body.metadata, if_exists=body.if_exists or "raise"
    )
    if body.supersteps:
        states = _states(runtime)
        for step in body.supersteps:
            for update in step.get("updates", []):
                await states.update(
                    thread_id, update.get("values"), as_node=update.get("as_node"), checkpoint=None
                )
        thread = await runtime.storage.get_thread(thread_id)
    return thread_view(thread)


@router.post("/threads/search")
async def search_threads(body: ThreadSearch, runtime: RuntimeDep) -> list[dict[str, Any]]:
    threads = await runtime.storage.search_threads(
        ids=body.ids,
        metadata=body.metadata,
        values=body.values,
        status=body.status,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )
    views = [thread_view(t) for t in threads]
    return select_fields(views, body.select)


@router.post("/threads/count")
async def count_threads(body: ThreadCount, runtime: RuntimeDep) -> int:
    return await runtime.storage.count_threads(
        metadata=body.metadata, values=body.values, status=body.status
    )


@router.post("/threads/prune")
async def prune_threads(body: ThreadPrune, runtime: RuntimeDep) -> dict[str, int]:
    ids = [check_uuid(t, "thread_ids") for t in body.thread_ids]
    if body.strategy == "keep_latest":
        try:
            await runtime.storage.checkpointer.aprune(ids, strategy="keep_latest")
        except NotImplementedError:
            raise InvalidInput(
                f"strategy 'keep_latest' is not supported on the {runtime.storage.backend} "
                "backend; use 'delete'"
            ) from None
        return {"pruned_count": len(ids)}
    pruned = 0
    for thread_id in ids:
        try:
            await runtime.storage.delete_thread(thread_id)
        except NotFound:
            continue
        await runtime.storage.checkpointer.adelete_thread(thread_id)
        pruned += 1
    return {"pruned_count": pruned}


@router.post("/threads/{thread_id}/copy")
async def copy_thread(thread_id: ThreadId, runtime: RuntimeDep) -> dict[str, Any]:
    return thread_view(await _states(runtime).copy(thread_id, new_id()))


@router.get("/threads/{thread_id}")
async def get_thread(thread_id: ThreadId, runtime: RuntimeDep) -> dict[str, Any]:
    return thread_view(await runtime.storage.get_thread(thread_id))


@router.patch("/threads/{thread_id}")
async def patch_thread(
    thread_id: ThreadId, body: ThreadPatch, runtime: RuntimeDep
) -> dict[str, Any]:
    return thread_view(await runtime.storage.update_thread(thread_id, metadata=body.metadata))


@router.delete("/threads/{thread_id}", status_code=204)
async def delete_thread(thread_id: ThreadId, runtime: RuntimeDep) -> Response:
    await runtime.storage.delete_thread(thread_id)
    await runtime.storage.checkpointer.adelete_thread(thread_id)
    return Response(status_code=204)


@router.get("/threads/{thread_id}/state")
async def get_state(
    thread_id: ThreadId, runtime: RuntimeDep, subgraphs: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    return await _states(runtime).get(thread_id, subgraphs=subgraphs)


@router.get("/threads/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    thread_id: ThreadId,
    checkpoint_id: str,
    runtime: RuntimeDep,
    subgraphs: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    return await _states(runtime).get(
        thread_id, {"checkpoint_id": checkpoint_id}, subgraphs=subgraphs
    )


@router.post("/threads/{thread_id}/state/checkpoint")
async def post_state_at(
    thread_id: ThreadId, body: StateAtCheckpoint, runtime: RuntimeDep
) -> dict[str, Any]:
    return await _states(runtime).get(
        thread_id, body.checkpoint.model_dump(exclude_none=True), subgraphs=body.subgraphs
    )


@router.post("/threads/{thread_id}/state")
async def update_state(
    thread_id: ThreadId, body: ThreadStateUpdate, runtime: RuntimeDep
) -> dict[str, Any]:
    checkpoint = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else {}
    if body.checkpoint_id:
        checkpoint["checkpoint_id"] = body.checkpoint_id
    return await _states(runtime).update(
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
    return await _states(runtime).history(
        thread_id,
        limit=body.limit,
        before=before,
        metadata=body.metadata,
        checkpoint=body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else None,
    )


@router.get("/threads/{thread_id}/stream")
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
    events = await runtime.thread_streams.open(
        thread_id, thread_stream_modes(requested), last_event_id=last_event_id
    )
    return sse_response(_encoded(events))


async def _encoded(events: AsyncIterator[ThreadStreamEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode(event)
