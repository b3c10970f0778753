"""Runs: create in the background, wait, stream, join, cancel, on a thread or stateless."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from agent_ops import MAX_INT, CancelAction, RunStatus
from agent_ops.runtime import Run, RunEvent
from server.deps import RunId, RuntimeDep, ThreadId
from server.responses import JsonResponse
from server.schemas import CancelMany, RunCreate
from server.sse import encode, parse_last_event_id, sse_response
from server.stream_slots import StreamSlot
from server.views import run_view, webhook_view

router = APIRouter(tags=["runs"])


def _thread_path(run: Run) -> str:
    return f"/threads/{run.thread_id}/runs/{run.run_id}"


def _content_location(run: Run, stateless: bool) -> str:
    """Where the run is read: stateless runs are named without their temporary thread."""
    return f"/runs/{run.run_id}" if stateless else _thread_path(run)


async def _encoded(events: AsyncIterator[RunEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode(event)


def _created(run: Run, stateless: bool) -> JsonResponse:
    return JsonResponse(
        run_view(run), headers={"Content-Location": _content_location(run, stateless)}
    )


def _finished(run: Run, stateless: bool) -> JsonResponse:
    return JsonResponse(
        run.output if run.output is not None else {},
        headers={
            "Location": f"{_thread_path(run)}/join",
            "Content-Location": _content_location(run, stateless),
        },
    )


async def _stream(runtime: RuntimeDep, thread_id: str | None, body: RunCreate) -> Response:
    run = await runtime.runs.create(thread_id, body.to_request())
    headers = {
        "Location": f"{_thread_path(run)}/stream",
        "Content-Location": _content_location(run, thread_id is None),
    }
    events = runtime.runs.events(run, cancel_on_disconnect=body.on_disconnect == "cancel")
    return sse_response(_encoded(events), headers=headers)


# -- on a thread ----------------------------------------------------------------------------------
@router.post("/threads/{thread_id}/runs")
async def create_run(thread_id: ThreadId, body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    return _created(await runtime.runs.create(thread_id, body.to_request()), False)


@router.post("/threads/{thread_id}/runs/wait")
async def wait_run(thread_id: ThreadId, body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    return _finished(await runtime.runs.create_and_wait(thread_id, body.to_request()), False)


@router.post("/threads/{thread_id}/runs/stream", dependencies=[StreamSlot])
async def stream_run(thread_id: ThreadId, body: RunCreate, runtime: RuntimeDep) -> Response:
    return await _stream(runtime, thread_id, body)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: ThreadId,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    status: RunStatus | None = None,
) -> list[dict[str, Any]]:
    runs = await runtime.runs.for_thread(thread_id, limit=limit, offset=offset, status=status)
    return [run_view(r) for r in runs]


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep) -> dict[str, Any]:
    return run_view(await runtime.runs.get(run_id, thread_id=thread_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep) -> Response:
    await runtime.runs.delete(run_id, thread_id=thread_id)
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep) -> JsonResponse:
    done = await runtime.runs.join(run_id, thread_id=thread_id)
    return JsonResponse(done.output if done.output is not None else {})


@router.get("/threads/{thread_id}/runs/{run_id}/webhook")
async def get_run_webhook(
    thread_id: ThreadId, run_id: RunId, runtime: RuntimeDep
) -> dict[str, Any]:
    """How the run's webhook delivery stands; 404 for a run that named none or has not ended."""
    return webhook_view(await runtime.runs.webhook(run_id, thread_id=thread_id))


@router.get("/threads/{thread_id}/runs/{run_id}/stream", dependencies=[StreamSlot])
async def join_stream(
    thread_id: ThreadId,
    run_id: RunId,
    runtime: RuntimeDep,
    last_event_id: Annotated[str | None, Header()] = None,
    cancel_on_disconnect: bool = False,
    stream_mode: Annotated[list[str] | None, Query()] = None,
) -> Response:
    run = await runtime.runs.get(run_id, thread_id=thread_id)
    events = runtime.runs.events(
        run,
        after_seq=parse_last_event_id(last_event_id),
        cancel_on_disconnect=cancel_on_disconnect,
    )
    return sse_response(_encoded(events))


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(
    thread_id: ThreadId,
    run_id: RunId,
    runtime: RuntimeDep,
    wait: bool = False,
    action: CancelAction = "interrupt",
) -> Response:
    stopped = await runtime.runs.cancel(run_id, thread_id=thread_id, action=action, wait=wait)
    if not wait:
        return Response(status_code=202)
    # As the LangGraph server answers: what joining the run returns ({} once rolled back).
    return JsonResponse(
        stopped.output if stopped is not None and stopped.output is not None else {},
        headers={
            "Location": f"/threads/{thread_id}/runs/{run_id}/join",
            "Content-Location": f"/threads/{thread_id}/runs/{run_id}",
        },
    )


@router.post("/runs/cancel", status_code=204)
async def cancel_many(
    body: CancelMany, runtime: RuntimeDep, action: CancelAction = "interrupt"
) -> Response:
    await runtime.runs.cancel_many(
        run_ids=body.run_ids, thread_id=body.thread_id, status=body.status, action=action
    )
    return Response(status_code=204)


# -- stateless ------------------------------------------------------------------------------------
@router.post("/runs")
async def create_stateless(body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    return _created(await runtime.runs.create(None, body.to_request()), True)


@router.post("/runs/wait")
async def wait_stateless(body: RunCreate, runtime: RuntimeDep) -> JsonResponse:
    return _finished(await runtime.runs.create_and_wait(None, body.to_request()), True)


@router.post("/runs/stream", dependencies=[StreamSlot])
async def stream_stateless(body: RunCreate, runtime: RuntimeDep) -> Response:
    return await _stream(runtime, None, body)


@router.post("/runs/batch")
async def create_batch(bodies: list[RunCreate], runtime: RuntimeDep) -> list[dict[str, Any]]:
    runs_ = await runtime.runs.create_batch([body.to_request() for body in bodies])
    return [run_view(run) for run in runs_]
