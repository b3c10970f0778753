"""Crons: scheduled runs on a thread or stateless, fired by the workers' scheduler."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from agent_ops.runtime import CronPatch
from server.deps import RuntimeDep, ThreadId
from server.routes._listing import add_listing
from server.schemas import CronCount, CronCreate, CronSearch
from server.views import cron_view

router = APIRouter(tags=["crons"])


@router.post("/runs/crons")
async def create_cron(body: CronCreate, runtime: RuntimeDep) -> dict[str, Any]:
    return cron_view(await runtime.crons.create(None, body.to_request()))


@router.post("/threads/{thread_id}/runs/crons")
async def create_thread_cron(
    thread_id: ThreadId, body: CronCreate, runtime: RuntimeDep
) -> dict[str, Any]:
    return cron_view(await runtime.crons.create(thread_id, body.to_request()))


# The runtime counts crons by assistant and thread; a count body's metadata is not a filter.
add_listing(router, "/runs/crons", "crons", (CronSearch, CronCount), cron_view)


@router.get("/runs/crons/{cron_id}")
async def get_cron(cron_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    return cron_view(await runtime.crons.get(cron_id))


@router.patch("/runs/crons/{cron_id}")
async def patch_cron(cron_id: str, body: CronPatch, runtime: RuntimeDep) -> dict[str, Any]:
    return cron_view(await runtime.crons.update(cron_id, body))


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete_cron(cron_id: str, runtime: RuntimeDep) -> Response:
    await runtime.crons.delete(cron_id)
    return Response(status_code=204)
