"""The two listing routes of a searchable concept (assistants, threads, crons):
`POST <path>/search`, a page of views with only the `select`ed fields, and `POST <path>/count`.
Each is the body parsed, one runtime call with the body's filter (and page), and the view.

No `from __future__ import annotations` here: FastAPI reads the routes' body types from their
annotations, which are set per concept below.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from server.deps import RuntimeDep
from server.schemas import Body, Searching
from server.views import extracted, select_fields


def add_listing(
    router: APIRouter,
    path: str,
    concept: str,
    bodies: tuple[type[Searching], type[Body]],
    view: Callable[[Any], dict[str, Any]],
) -> None:
    """Add `path/search` and `path/count` for `runtime.<concept>` (its `search(filter, page)`
    and `count(filter)`), with the body's `to_filter()` and, for a search, its `to_page()`."""

    async def search(body: Any, runtime: RuntimeDep) -> list[dict[str, Any]]:
        found = await getattr(runtime, concept).search(body.to_filter(), body.to_page())
        views = [view(record) for record in found]
        extract = getattr(body, "extract", None)  # threads' searches only
        if not extract:
            return select_fields(views, body.select)
        shown = select_fields(views, body.select)
        return [
            {**s, "extracted": extracted(v, extract)} for s, v in zip(shown, views, strict=True)
        ]

    async def count(body: Any, runtime: RuntimeDep) -> int:
        counted: int = await getattr(runtime, concept).count(body.to_filter())
        return counted

    search.__annotations__["body"], count.__annotations__["body"] = bodies
    router.add_api_route(f"{path}/search", search, methods=["POST"], name=f"search_{concept}")
    router.add_api_route(f"{path}/count", count, methods=["POST"], name=f"count_{concept}")
