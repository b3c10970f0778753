"""Runs: create in the background, wait, stream, join, cancel, on a thread or stateless."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from agent_ops.errors import InvalidInput, NotFound
from agent_ops.runtime.service import Runtime
from agent_ops.storage import Run
from agent_ops.types import CancelAction
from server.deps import RunId, RuntimeDep, ThreadId, check_uuid
from server.responses import JsonResponse
from server.schemas import CancelMany, RunCreate
from server.sse import encode, parse_last_event_id, sse_response
from server.views import run_view

log = logging.getLogger(__name__)
router = APIRouter(tags=["runs"])


def _thread_path(run: Run) -> str:
    return f"/threads/{run.thread_id}/runs/{run.run_id}"


def _content_location(run: Run, stateless: bool) -> str:
    """Where the run is read: stateless runs are named without their temporary thread."""
    return f"/runs/{run.run_id}" if stateless else _thread_path(run)


async def _events(
    runtime: Runtime,
    run: Run,
    *,
    after_seq: int = 0,
    on_disconnect: str = "continue",
) -> AsyncIterator[bytes]:
    finished = False
    try:
        async for event in runtime.stream_bus.subscribe(run.run_id, after_seq=after_seq):
            yield encode(event)
        finished = True
    finally:
        if not finished and on_disconnect == "cancel":
            log.info("client left the stream of run %s; cancelling it", run.run_id)
            await asyncio.shield(runtime.storage.cancel_runs([run.run_id], action="interrupt"))


def _stream_response(runtime: Runtime, run: Run, body: RunCreate, stateless: bool) -> Response:
    headers = {
        "Location": f"{_thread_path(run)}/stream",
        "Content-Location": _content_location(run, stateless),
    }
    return sse_response(
        _events(runtime, run, on_disconnect=body.on_disconnect or "continue"), headers=headers
    )


async def _wait_response(runtime: Runtime, run: Run, stateless: bool) -> JsonResponse:
    done = await runtime.wait_for_run(run.run_id, just_created=True)
    return JsonResponse(
        done.output if done.output is not None else {},
        headers={
            "Location": f"{_thread_path(run)}/join",
            "Content-Location": _content_location(run, stateless),
        },
    )


# -- on a thread ----------------------------------------------------------------------------------
@router.post("/threads/{thread_id}/runs")
async def create_run(thread_id: ThreadId, body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    run = await runtime.create_run(thread_id, body.as_request())
    return JsonResponse(run_view(run), headers={"Content-Location": _content_location(run, False)})


@router.post("/threads/{thread_id}/runs/wait")
async def wait_run(thread_id: ThreadId, body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    run = await runtime.create_run(thread_id, body.as_request(), force_values=True)
    return await _wait_response(runtime, run, False)


@router.post("/threads/{thread_id}/runs/stream")
async def stream_run(thread_id: ThreadId, body: RunCreate, runtime: RuntimeDep) -> Response:
    run = await runtime.create_run(thread_id, body.as_request())
    return _stream_response(runtime, run, body, False)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: ThreadId,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: str | None = None,
) -> list[dict[str, Any]]:
    runs = await runtime.storage.list_runs(
        thread_id,
        limit=limit,
        offset=offset,
        status=status,  # type: ignore[arg-type]
    )
    return [run_view(r) for r in runs]


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep) -> dict[str, Any]:
    return run_view(await runtime.storage.get_run(run_id, thread_id=thread_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep) -> Response:
    await runtime.storage.delete_run(run_id, thread_id=thread_id)
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep) -> JsonResponse:
    await runtime.storage.get_run(run_id, thread_id=thread_id)
    done = await runtime.wait_for_run(run_id, thread_id=thread_id)
    return JsonResponse(done.output if done.output is not None else {})


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_stream(
    thread_id: ThreadId,
    run_id: RunId,
    runtime: RuntimeDep,
    last_event_id: Annotated[str | None, Header()] = None,
    cancel_on_disconnect: bool = False,
    stream_mode: Annotated[list[str] | None, Query()] = None,
) -> Response:
    run = await runtime.storage.get_run(run_id, thread_id=thread_id)
    return sse_response(
        _events(
            runtime,
            run,
            after_seq=parse_last_event_id(last_event_id),
            on_disconnect="cancel" if cancel_on_disconnect else "continue",
        )
    )


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(
    thread_id: ThreadId,
    run_id: RunId,
    runtime: RuntimeDep,
    wait: bool = False,
    action: CancelAction = "interrupt",
) -> Response:
    await runtime.storage.cancel_runs([run_id], thread_id=thread_id, action=action)
    if wait:
        try:
            await runtime.wait_for_run(run_id, thread_id=thread_id)
        except NotFound:
            if action != "rollback":
                raise  # a rolled-back run is deleted: its absence is the awaited outcome
    return Response(status_code=202 if not wait else 204)


@router.post("/runs/cancel", status_code=204)
async def cancel_many(
    body: CancelMany, runtime: RuntimeDep, action: CancelAction = "interrupt"
) -> Response:
    if body.run_ids:
        ids = [check_uuid(r, "run_id") for r in body.run_ids]
    elif body.thread_id:
        runs = await runtime.storage.list_runs(check_uuid(body.thread_id, "thread_id"), limit=1000)
        wanted = ("pending", "running") if body.status in (None, "all") else (body.status,)
        ids = [r.run_id for r in runs if r.status in wanted]
    elif body.status:
        raise InvalidInput("cancelling by status alone needs thread_id or run_ids")
    else:
        raise InvalidInput("give run_ids, or thread_id (optionally with status)")
    await runtime.storage.cancel_runs(ids, thread_id=body.thread_id, action=action)
    return Response(status_code=204)


# -- stateless ------------------------------------------------------------------------------------
@router.post("/runs")
async def create_stateless(body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    run = await runtime.create_run(None, body.as_request())
    return JsonResponse(run_view(run), headers={"Content-Location": _content_location(run, True)})


@router.post("/runs/wait")
async def wait_stateless(body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    run = await runtime.create_run(None, body.as_request(), force_values=True)
    return await _wait_response(runtime, run, True)


@router.post("/runs/stream")
async def stream_stateless(body: RunCreate, runtime: RuntimeDep) -> Response:
    run = await runtime.create_run(None, body.as_request())
    return _stream_response(runtime, run, body, True)


@router.post("/runs/batch")
async def create_batch(bodies: list[RunCreate], runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [run_view(await runtime.create_run(None, b.as_request())) for b in bodies]
