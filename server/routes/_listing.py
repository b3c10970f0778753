"""The two listing routes of a searchable concept (assistants, threads, crons):
`POST <path>/search`, a page of views with only the `select`ed fields, and `POST <path>/count`.
Each is the body parsed, one runtime call with the body's filter (and page), and the view.

No `from __future__ import annotations` here: FastAPI reads the routes' body types from their
annotations, which are set per concept below.
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Response

from agent_ops.runtime import Page
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

    async def search(body: Any, runtime: RuntimeDep, response: Response) -> list[dict[str, Any]]:
        page = body.to_page()
        # One record more than asked says whether a next page exists, for the headers the sdk
        # pages with (`response_format="object"` reads X-Pagination-Next).
        found = await getattr(runtime, concept).search(
            body.to_filter(), replace(page, limit=page.limit + 1)
        )
        response.headers.update(_pagination(page, len(found)))
        views = [view(record) for record in found[: page.limit]]
        shown = select_fields(views, body.select)
        extract = getattr(body, "extract", None)  # threads' searches only
        if not extract:
            return shown
        return [
            {**s, "extracted": extracted(v, extract)} for s, v in zip(shown, views, strict=True)
        ]

    async def count(body: Any, runtime: RuntimeDep) -> int:
        counted: int = await getattr(runtime, concept).count(body.to_filter())
        return counted

    search.__annotations__["body"], count.__annotations__["body"] = bodies
    router.add_api_route(f"{path}/search", search, methods=["POST"], name=f"search_{concept}")
    router.add_api_route(f"{path}/count", count, methods=["POST"], name=f"count_{concept}")


def _pagination(page: Page, found: int) -> dict[str, str]:
    """The LangGraph server's paging headers for a page that found `found` records when asked
    for one more than its limit: the next offset while there is more, and a total that counts
    at least one record past this page then (the server does not count them all)."""
    if found > page.limit:
        following = page.offset + page.limit
        return {"X-Pagination-Next": str(following), "X-Pagination-Total": str(following + 1)}
    return {"X-Pagination-Total": str(page.offset + found)}
