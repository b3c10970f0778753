"""Crons: scheduled runs on a thread or stateless, fired by the workers' scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response

from agent_ops.runtime.crons import check_schedule, next_fire
from agent_ops.runtime.service import new_id
from server.deps import RuntimeDep, ThreadId, check_uuid
from server.schemas import CronCount, CronCreate, CronPatch, CronSearch
from server.views import cron_view, select_fields

router = APIRouter(tags=["crons"])

_NOT_PAYLOAD = {"schedule", "end_time", "enabled"}


async def _create(runtime: RuntimeDep, thread_id: str | None, body: CronCreate) -> dict[str, Any]:
    check_schedule(body.schedule, body.timezone)
    assistant = await runtime.resolve_assistant(body.assistant_id)
    if thread_id is not None:
        await runtime.storage.get_thread(thread_id)
    payload = body.model_dump(exclude_none=True, exclude=_NOT_PAYLOAD)
    payload["assistant_id"] = assistant.assistant_id
    cron = await runtime.storage.create_cron(
        cron_id=new_id(),
        assistant_id=assistant.assistant_id,
        thread_id=thread_id,
        schedule=body.schedule,
        payload=payload,
        metadata=body.metadata,
        next_run_date=next_fire(body.schedule, datetime.now(UTC), body.timezone),
        end_time=body.end_time,
        enabled=body.enabled,
    )
    return cron_view(cron)


@router.post("/runs/crons")
async def create_cron(body: CronCreate, runtime: RuntimeDep) -> dict[str, Any]:
    return await _create(runtime, None, body)


@router.post("/threads/{thread_id}/runs/crons")
async def create_thread_cron(
    thread_id: ThreadId, body: CronCreate, runtime: RuntimeDep
) -> dict[str, Any]:
    return await _create(runtime, thread_id, body)


@router.post("/runs/crons/search")
async def search_crons(body: CronSearch, runtime: RuntimeDep) -> list[dict[str, Any]]:
    assistant_id = None
    if body.assistant_id:
        assistant_id = (await runtime.resolve_assistant(body.assistant_id)).assistant_id
    crons = await runtime.storage.search_crons(
        assistant_id=assistant_id,
        thread_id=check_uuid(body.thread_id, "thread_id") if body.thread_id else None,
        enabled=body.enabled,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )
    views = [cron_view(c) for c in crons]
    if body.metadata:
        views = [
            v for v in views if all(v["metadata"].get(k) == x for k, x in body.metadata.items())
        ]
    return select_fields(views, body.select)


@router.post("/runs/crons/count")
async def count_crons(body: CronCount, runtime: RuntimeDep) -> int:
    assistant_id = None
    if body.assistant_id:
        assistant_id = (await runtime.resolve_assistant(body.assistant_id)).assistant_id
    return await runtime.storage.count_crons(assistant_id=assistant_id, thread_id=body.thread_id)


@router.get("/runs/crons/{cron_id}")
async def get_cron(cron_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    return cron_view(await runtime.storage.get_cron(check_uuid(cron_id, "cron_id")))


@router.patch("/runs/crons/{cron_id}")
async def patch_cron(cron_id: str, body: CronPatch, runtime: RuntimeDep) -> dict[str, Any]:
    current = await runtime.storage.get_cron(check_uuid(cron_id, "cron_id"))
    changes = body.model_dump(exclude_unset=True)
    schedule = changes.get("schedule") or current.schedule
    timezone = changes.get("timezone", current.payload.get("timezone"))
    check_schedule(schedule, timezone)
    payload = {**current.payload, **{k: v for k, v in changes.items() if k not in _NOT_PAYLOAD}}
    cron = await runtime.storage.update_cron(
        current.cron_id,
        schedule=changes.get("schedule"),
        payload=payload,
        metadata=changes.get("metadata"),
        end_time=changes.get("end_time"),
        enabled=changes.get("enabled"),
        next_run_date=next_fire(schedule, datetime.now(UTC), timezone)
        if "schedule" in changes or "timezone" in changes or changes.get("enabled")
        else None,
    )
    return cron_view(cron)


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete_cron(cron_id: str, runtime: RuntimeDep) -> Response:
    await runtime.storage.delete_cron(check_uuid(cron_id, "cron_id"))
    return Response(status_code=204)
