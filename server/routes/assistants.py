"""Assistants: a default one per registered graph, plus any created through the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from server.deps import RuntimeDep
from server.routes._listing import add_listing
from server.schemas import (
    AssistantCount,
    AssistantCreate,
    AssistantLatest,
    AssistantPatch,
    AssistantSearch,
    AssistantVersions,
)
from server.views import assistant_view

router = APIRouter(tags=["assistants"])


@router.post("/assistants")
async def create_assistant(body: AssistantCreate, runtime: RuntimeDep) -> dict[str, Any]:
    return assistant_view(await runtime.assistants.create(body.to_request()))


add_listing(
    router,
    "/assistants",
    "assistants",
    (AssistantSearch, AssistantCount),
    assistant_view,
)


@router.get("/assistants/{assistant_id}")
async def get_assistant(assistant_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    return assistant_view(await runtime.assistants.get(assistant_id))


@router.patch("/assistants/{assistant_id}")
async def patch_assistant(
    assistant_id: str, body: AssistantPatch, runtime: RuntimeDep
) -> dict[str, Any]:
    return assistant_view(await runtime.assistants.update(assistant_id, body.to_changes()))


@router.delete("/assistants/{assistant_id}", status_code=204)
async def delete_assistant(
    assistant_id: str, runtime: RuntimeDep, delete_threads: bool = False
) -> Response:
    await runtime.assistants.delete(assistant_id, delete_threads=delete_threads)
    return Response(status_code=204)


@router.post("/assistants/{assistant_id}/versions")
async def versions(
    assistant_id: str, body: AssistantVersions, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    found = await runtime.assistants.versions(
        assistant_id, metadata=body.metadata, limit=body.limit, offset=body.offset
    )
    return [assistant_view(a) for a in found]


@router.post("/assistants/{assistant_id}/latest")
async def set_latest(
    assistant_id: str, body: AssistantLatest, runtime: RuntimeDep
) -> dict[str, Any]:
    return assistant_view(await runtime.assistants.set_latest(assistant_id, body.version))


@router.get("/assistants/{assistant_id}/graph")
async def graph(assistant_id: str, runtime: RuntimeDep, xray: bool | int = False) -> Any:
    return await runtime.assistants.drawing(assistant_id, xray=xray)


@router.get("/assistants/{assistant_id}/schemas")
async def schemas(assistant_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    return await runtime.assistants.schemas(assistant_id)


@router.get("/assistants/{assistant_id}/subgraphs")
@router.get("/assistants/{assistant_id}/subgraphs/{namespace}")
async def subgraphs(
    assistant_id: str, runtime: RuntimeDep, namespace: str | None = None, recurse: bool = False
) -> dict[str, Any]:
    return await runtime.assistants.subgraphs(assistant_id, namespace=namespace, recurse=recurse)
