"""FastAPI dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from agent_ops.runtime import Runtime, checked_id


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _thread_id(thread_id: Annotated[str, Path()]) -> str:
    return checked_id(thread_id, "thread_id")


async def _run_id(run_id: Annotated[str, Path()]) -> str:
    return checked_id(run_id, "run_id")


ThreadId = Annotated[str, Depends(_thread_id)]
RunId = Annotated[str, Depends(_run_id)]
