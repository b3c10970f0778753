"""Triggers: stored ways of starting runs (cron, webhook, e-mail, folder, SQL threshold), and the
inbound webhook route `POST /hooks/{trigger_id}`, which is authenticated by its signature (the
trigger's secret), not by API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response

from agent_ops.triggers import (
    Fired,
    StoredTrigger,
    TriggerCreate,
    TriggerEvent,
    TriggerKind,
    TriggerPatch,
    TriggerService,
)
from server.views import fields_of

router = APIRouter(tags=["triggers"])

HOOK_PATH = "/hooks/{trigger_id}"


async def _service(request: Request) -> TriggerService:
    service: TriggerService = request.app.state.triggers
    return service


Service = Annotated[TriggerService, Depends(_service)]


def trigger_view(t: StoredTrigger, *, with_secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        **fields_of(t, "trigger_id", "name", "kind", "assistant_id", "enabled"),
        **t.spec,
        **fields_of(
            t,
            "input_mapping",
            "business_key",
            "multitask_strategy",
            "state",
            "next_due",
            "last_fired_at",
            "last_error",
            "last_error_at",
            "created_at",
            "updated_at",
        ),
    }
    if t.kind == "webhook":
        view["hook_path"] = HOOK_PATH.format(trigger_id=t.trigger_id)
        if with_secret:  # shown once, at creation: the sender signs with it
            view["secret"] = t.secret
    return view


def _fired_view(trigger_id: str, fired: Fired) -> dict[str, Any]:
    return {
        "trigger_id": trigger_id,
        **fields_of(fired.event, "event_key", "run_id", "thread_id"),
        "started": fired.started,
    }


def _event_view(e: TriggerEvent) -> dict[str, Any]:
    return fields_of(e, "event_key", "run_id", "thread_id", "created_at")


@router.post("/triggers")
async def create_trigger(body: TriggerCreate, service: Service) -> dict[str, Any]:
    return trigger_view(await service.create(body), with_secret=True)


@router.get("/triggers")
async def list_triggers(service: Service, kind: TriggerKind | None = None) -> list[dict[str, Any]]:
    return [trigger_view(t) for t in await service.search(kind=kind)]


@router.get("/triggers/{trigger_id}")
async def get_trigger(trigger_id: str, service: Service) -> dict[str, Any]:
    return trigger_view(await service.get(trigger_id))


@router.patch("/triggers/{trigger_id}")
async def patch_trigger(trigger_id: str, body: TriggerPatch, service: Service) -> dict[str, Any]:
    return trigger_view(await service.update(trigger_id, body))


@router.delete("/triggers/{trigger_id}", status_code=204)
async def delete_trigger(trigger_id: str, service: Service) -> Response:
    await service.delete(trigger_id)
    return Response(status_code=204)


@router.get("/triggers/{trigger_id}/events")
async def trigger_events(trigger_id: str, service: Service) -> list[dict[str, Any]]:
    return [_event_view(e) for e in await service.events(trigger_id)]


@router.post("/triggers/{trigger_id}/fire", status_code=202)
async def fire_trigger(
    trigger_id: str,
    service: Service,
    payload: Annotated[Any, Body()] = None,
) -> dict[str, Any]:
    return _fired_view(trigger_id, await service.fire_now(trigger_id, payload))


@router.post(HOOK_PATH, status_code=202)
async def receive_hook(trigger_id: str, request: Request, service: Service) -> dict[str, Any]:
    fired = await service.receive_webhook(trigger_id, await request.body(), request.headers)
    return _fired_view(trigger_id, fired)
