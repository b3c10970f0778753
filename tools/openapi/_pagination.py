"""Following pages of a read-only operation: numbered pages, offsets, body cursors, Link headers.

A paginated tool returns `{"items": [...], "truncated": bool, "pages": n}`; `truncated` says the
answer stopped at `max_pages`, `max_items` or the size cap while the server had more to give.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import httpx

from agent_ops.errors import ConnectorError
from tools.openapi._config import (
    CursorPagination,
    LinkPagination,
    OffsetPagination,
    PagePagination,
    Pagination,
)
from tools.openapi._http import Caller, cap_json

OWNED_PARAMS_ATTRS = ("param", "size_param", "limit_param")


def owned_params(rule: Pagination) -> set[str]:
    """Query parameters the paginator sets itself (kept out of the tool's arguments)."""
    return {v for attr in OWNED_PARAMS_ATTRS if isinstance(v := getattr(rule, attr, None), str)}


def first_page(request: httpx.Request, rule: Pagination) -> httpx.Request:
    """`request` with the paginator's parameters for the first page."""
    if isinstance(rule, PagePagination):
        params = {rule.param: str(rule.first)}
        if rule.size_param and rule.size:
            params[rule.size_param] = str(rule.size)
        return _with_params(request, params)
    if isinstance(rule, OffsetPagination):
        return _with_params(request, {rule.param: "0", rule.limit_param: str(rule.limit)})
    return request


async def follow_pages(
    caller: Caller, http: httpx.AsyncClient, request: httpx.Request, rule: Pagination
) -> dict[str, Any]:
    """Fetch pages from `request` on, collecting their items, within the rule's limits."""
    items: list[Any] = []
    pages, offset, more = 0, 0, False
    note: str | None = None
    origin = request.url
    current: httpx.Request | None = first_page(request, rule)
    while current is not None:
        response = await caller.send(http, current, effect="read")
        pages += 1
        body = _json(caller, response)
        page = _at(body, rule.items)
        if not isinstance(page, list):
            where = f"field {rule.items!r}" if rule.items else "body"
            raise ConnectorError(
                f"{caller.system}: the response {where} of {current.method} "
                f"{current.url.copy_with(query=None)} is not a list of items",
                system=caller.system,
                url=str(current.url.copy_with(query=None)),
                status=response.status_code,
            )
        room = rule.max_items - len(items)
        items.extend(page[:room])
        offset += len(page)
        following = _next(current, response, body, page, rule, pages, offset)
        if isinstance(following, str):
            note, following = following, None
        elif following is not None and not _same_origin(following.url, origin):
            note = f"the next page is on another server ({following.url.host}); not followed"
            more, following = True, None
        if len(page) > room or (
            following is not None and (pages >= rule.max_pages or len(items) >= rule.max_items)
        ):
            more, following = True, None
        current = following
    result: dict[str, Any] = {"items": items, "truncated": more, "pages": pages}
    capped = cap_json(items, caller.config.max_response_chars)
    if isinstance(capped, dict):
        result.update(items=capped["items"], truncated=True)
        note = capped["note"]
    if note:
        result["note"] = note
    return result


def _next(
    request: httpx.Request,
    response: httpx.Response,
    body: Any,
    page: list[Any],
    rule: Pagination,
    pages: int,
    offset: int,
) -> httpx.Request | str | None:
    """The request for the next page, None after the last one, or a note why we cannot go on."""
    if isinstance(rule, PagePagination):
        if not page or (rule.size is not None and len(page) < rule.size):
            return None
        return _with_params(request, {rule.param: str(rule.first + pages)})
    if isinstance(rule, OffsetPagination):
        if len(page) < rule.limit:
            return None
        return _with_params(request, {rule.param: str(offset)})
    if isinstance(rule, CursorPagination):
        cursor = _at(body, rule.next_field)
        if cursor in (None, "", False):
            return None
        if not isinstance(cursor, str | int):
            return f"the cursor at {rule.next_field!r} is not a string; stopped"
        return _with_params(request, {rule.param: str(cursor)})
    assert isinstance(rule, LinkPagination)
    link = response.links.get("next") or response.links.get("Next")
    if not link or not link.get("url"):
        return None
    url = httpx.URL(urljoin(str(request.url), link["url"]))
    return httpx.Request("GET", url, headers=request.headers)


def _with_params(request: httpx.Request, params: dict[str, str]) -> httpx.Request:
    url = request.url
    for name, value in params.items():
        url = url.copy_set_param(name, value)
    return httpx.Request(request.method, url, headers=request.headers)


def _json(caller: Caller, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        url = str(response.request.url.copy_with(query=None))
        kind = response.headers.get("content-type", "no content type")
        raise ConnectorError(
            f"{caller.system}: a page of {url} is {kind}, not JSON; cannot read its items",
            system=caller.system,
            url=url,
            status=response.status_code,
        ) from exc


def _at(body: Any, path: str | None) -> Any:
    if not path:
        return body
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _same_origin(url: httpx.URL, base: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
