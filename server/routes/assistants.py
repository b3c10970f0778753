"""Assistants: a default one per registered graph, plus any created through the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from langchain_core.runnables.graph import Graph as DrawableGraph
from langgraph.pregel import Pregel

from agent_ops.errors import InvalidInput
from agent_ops.runtime.service import new_id
from agent_ops.storage import Assistant
from server.deps import RuntimeDep, check_uuid
from server.schemas import (
    AssistantCount,
    AssistantCreate,
    AssistantLatest,
    AssistantPatch,
    AssistantSearch,
    AssistantVersions,
)
from server.views import assistant_view, select_fields

router = APIRouter(tags=["assistants"])


async def _resolve(runtime: RuntimeDep, assistant_id: str) -> Assistant:
    return await runtime.resolve_assistant(assistant_id)


def _require_graph(runtime: RuntimeDep, graph_id: str) -> None:
    if graph_id not in runtime.registry:
        raise InvalidInput(
            f"graph {graph_id!r} is not registered; registered graphs: "
            f"{', '.join(runtime.registry.ids())}"
        )


@router.post("/assistants")
async def create_assistant(body: AssistantCreate, runtime: RuntimeDep) -> dict[str, Any]:
    _require_graph(runtime, body.graph_id)
    assistant_id = check_uuid(body.assistant_id, "assistant_id") if body.assistant_id else new_id()
    assistant = await runtime.storage.create_assistant(
        assistant_id=assistant_id,
        graph_id=body.graph_id,
        name=body.name or body.graph_id,
        description=body.description,
        config=body.config,
        context=body.context,
        metadata=body.metadata,
        if_exists=body.if_exists or "raise",
    )
    return assistant_view(assistant)


@router.post("/assistants/search")
async def search_assistants(body: AssistantSearch, runtime: RuntimeDep) -> list[dict[str, Any]]:
    found = await runtime.storage.search_assistants(
        graph_id=body.graph_id,
        name=body.name,
        metadata=body.metadata,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )
    views = [assistant_view(a) for a in found]
    return select_fields(views, body.select)


@router.post("/assistants/count")
async def count_assistants(body: AssistantCount, runtime: RuntimeDep) -> int:
    return await runtime.storage.count_assistants(
        graph_id=body.graph_id, name=body.name, metadata=body.metadata
    )


@router.get("/assistants/{assistant_id}")
async def get_assistant(assistant_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    return assistant_view(await _resolve(runtime, assistant_id))


@router.patch("/assistants/{assistant_id}")
async def patch_assistant(
    assistant_id: str, body: AssistantPatch, runtime: RuntimeDep
) -> dict[str, Any]:
    current = await _resolve(runtime, assistant_id)
    if body.graph_id is not None:
        _require_graph(runtime, body.graph_id)
    updated = await runtime.storage.update_assistant(
        current.assistant_id,
        graph_id=body.graph_id,
        name=body.name,
        description=body.description,
        config=body.config,
        context=body.context,
        metadata=body.metadata,
    )
    return assistant_view(updated)


@router.delete("/assistants/{assistant_id}", status_code=204)
async def delete_assistant(assistant_id: str, runtime: RuntimeDep) -> Response:
    current = await _resolve(runtime, assistant_id)
    await runtime.storage.delete_assistant(current.assistant_id)
    return Response(status_code=204)


@router.post("/assistants/{assistant_id}/versions")
async def versions(
    assistant_id: str, body: AssistantVersions, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    current = await _resolve(runtime, assistant_id)
    found = await runtime.storage.list_assistant_versions(
        current.assistant_id, metadata=body.metadata, limit=body.limit, offset=body.offset
    )
    return [assistant_view(a) for a in found]


@router.post("/assistants/{assistant_id}/latest")
async def set_latest(
    assistant_id: str, body: AssistantLatest, runtime: RuntimeDep
) -> dict[str, Any]:
    current = await _resolve(runtime, assistant_id)
    return assistant_view(
        await runtime.storage.set_assistant_version(current.assistant_id, body.version)
    )


@router.get("/assistants/{assistant_id}/graph")
async def graph(assistant_id: str, runtime: RuntimeDep, xray: bool | int = False) -> Any:
    current = await _resolve(runtime, assistant_id)
    compiled = await runtime.registry.get(current.graph_id, {"configurable": current.config})
    drawable: DrawableGraph = await compiled.aget_graph(xray=xray)
    return drawable.to_json()


@router.get("/assistants/{assistant_id}/schemas")
async def schemas(assistant_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    current = await _resolve(runtime, assistant_id)
    compiled = await runtime.registry.get(current.graph_id, {"configurable": current.config})
    return _schemas(current.graph_id, compiled)


def _schemas(graph_id: str, compiled: Pregel) -> dict[str, Any]:
    return {
        "graph_id": graph_id,
        "input_schema": compiled.get_input_jsonschema(),
        "output_schema": compiled.get_output_jsonschema(),
        "state_schema": compiled.get_output_jsonschema(),
        "config_schema": compiled.get_config_jsonschema(),
        "context_schema": compiled.get_context_jsonschema(),
    }


@router.get("/assistants/{assistant_id}/subgraphs")
@router.get("/assistants/{assistant_id}/subgraphs/{namespace}")
async def subgraphs(
    assistant_id: str, runtime: RuntimeDep, namespace: str | None = None, recurse: bool = False
) -> dict[str, Any]:
    current = await _resolve(runtime, assistant_id)
    compiled = await runtime.registry.get(current.graph_id, {"configurable": current.config})
    return {
        ns: _schemas(current.graph_id, sub)
        async for ns, sub in compiled.aget_subgraphs(namespace=namespace, recurse=recurse)
        if isinstance(sub, Pregel)
    }
