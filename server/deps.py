"""FastAPI dependencies shared by the routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from agent_ops.errors import InvalidInput
from agent_ops.runtime.service import Runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def check_uuid(value: str, what: str) -> str:
    """Reject an id that is not a UUID with a 422 naming it."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not a valid UUID") from None


async def _thread_id(thread_id: Annotated[str, Path()]) -> str:
    return check_uuid(thread_id, "thread_id")


async def _run_id(run_id: Annotated[str, Path()]) -> str:
    return check_uuid(run_id, "run_id")


ThreadId = Annotated[str, Depends(_thread_id)]
RunId = Annotated[str, Depends(_run_id)]
