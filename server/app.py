"""The FastAPI application: LangGraph Server API routes over one `Runtime`.

The `server` package parses requests, makes one call into `agent_ops.runtime` and renders the
answer; it imports only the public surfaces `agent_ops` and `agent_ops.runtime`, and its errors
become HTTP statuses in the one handler below.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from agent_ops.runtime import METRICS_CONTENT_TYPE, RequestFacts, Runtime
from agent_ops.triggers import TriggerService
from server import console
from server.errors import RequestGuard, install_error_handlers
from server.responses import JsonResponse
from server.routes import (
    assistants,
    audit,
    crons,
    decisions,
    intake,
    me,
    runs,
    store,
    threads,
    triggers,
)
from server.stream_slots import StreamSlots

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, started: bool = False) -> FastAPI:
    """Build the app. It starts the runtime unless `started`, and always stops it on shutdown
    (so a SIGTERM to the server lets in-flight runs finish or go back to the queue)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not started:
            await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    async def admit(request: Request) -> None:
        """Authenticate every routed request and check its role (`/ok` stays open for probes)."""
        route = request.scope.get("route")
        template = getattr(route, "path", request.url.path)
        if template in _OPEN:
            return
        facts = RequestFacts(
            method=request.method,
            path=request.url.path,
            headers=dict(request.scope["headers"]),
            path_params=request.path_params,
            query_params=request.query_params,
            request=request,
        )
        request.state.identity = await runtime.admit(facts, template)

    app = FastAPI(
        title="agent-ops",
        version="0.1.0",
        description="LangGraph Server API for durable AI workflows",
        lifespan=lifespan,
        default_response_class=JsonResponse,
        dependencies=[Depends(admit)],
    )
    app.state.runtime = runtime
    app.state.triggers = TriggerService(runtime)
    app.state.stream_slots = StreamSlots(runtime.settings.max_streams_per_caller)
    install_error_handlers(app)
    if runtime.settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=runtime.settings.cors_allow_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Content-Location", "Location", "X-Request-Id"],
        )
    # Added last, so it is outermost: every answer (CORS preflights, 401s) carries the id.
    app.add_middleware(RequestGuard, max_body_bytes=runtime.settings.max_body_bytes)

    @app.get("/ok", include_in_schema=False)
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        return {
            "version": "0.1.0",
            "langgraph_py_version": _version("langgraph"),
            "flags": {"assistants": True, "crons": True, "langsmith": False},
            "backend": runtime.backend,
            "graphs": runtime.registry.ids(),
        }

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(await runtime.metrics(), media_type=METRICS_CONTENT_TYPE)

    # Hot routes first: FastAPI tries routes in order, so runs match with the fewest checks.
    # /runs/crons has no clash with the run routes (none takes a path parameter under /runs/).
    app.include_router(runs.router)
    app.include_router(threads.router)
    app.include_router(assistants.router)
    app.include_router(crons.router)
    app.include_router(store.router)
    app.include_router(decisions.router)
    app.include_router(intake.router)
    app.include_router(triggers.router)
    app.include_router(audit.router)
    app.include_router(me.router)
    app.include_router(console.router)
    app.mount("/console/static", StaticFiles(directory=console.STATIC_DIR), name="console-static")
    return app


# Routes any caller may reach: the readiness probe.
# Routes any caller may reach: the readiness probe, and the console's page shells (they hold no
# data: the page asks the API for it with the key the operator signs in with).
# Inbound webhooks prove themselves by their trigger's signature instead.
_OPEN = frozenset({"/ok", triggers.HOOK_PATH}) | console.PAGES


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
