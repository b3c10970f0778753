"""The OpenAPI connector's configuration: which document, which operations, how to authenticate.

Nothing is allowed unless listed in `allow`; secrets are named by environment variable and read
once, when the tools are built.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BearerAuth(_Strict):
    """`Authorization: Bearer <token>`."""

    type: Literal["bearer"]
    token_env: str = Field(min_length=1, description="environment variable holding the token")


class ApiKeyAuth(_Strict):
    """An API key in a header or a query parameter."""

    type: Literal["api_key"]
    name: str = Field(min_length=1, description="header or query parameter name, e.g. X-API-Key")
    location: Literal["header", "query"] = "header"
    key_env: str = Field(min_length=1, description="environment variable holding the key")


class BasicAuth(_Strict):
    """HTTP Basic authentication."""

    type: Literal["basic"]
    username: str = Field(min_length=1)
    password_env: str = Field(min_length=1, description="environment variable holding it")


Auth = Annotated[BearerAuth | ApiKeyAuth | BasicAuth, Field(discriminator="type")]


class _Pages(_Strict):
    items: str | None = Field(
        default=None,
        description="dotted path of the item list in a response body; unset: the body is the list",
    )
    max_pages: int = Field(default=10, ge=1, description="pages fetched at most per tool call")
    max_items: int = Field(default=1000, ge=1, description="items returned at most per tool call")


class PagePagination(_Pages):
    """Numbered pages: `?page=1`, `?page=2`, ... until a page comes back short or empty."""

    style: Literal["page"]
    param: str = "page"
    first: int = Field(default=1, ge=0, description="number of the first page")
    size_param: str | None = Field(default=None, description="e.g. per_page; sent with `size`")
    size: int | None = Field(default=None, ge=1)


class OffsetPagination(_Pages):
    """Offset and limit: `?offset=0&limit=50`, then `offset=50`, ... until a short page."""

    style: Literal["offset"]
    param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(default=100, ge=1)


class CursorPagination(_Pages):
    """A cursor from a field of the response body, sent back as a query parameter."""

    style: Literal["cursor"]
    param: str = Field(default="cursor", description="query parameter carrying the cursor")
    next_field: str = Field(description="dotted path of the next cursor in the response body")


class LinkPagination(_Pages):
    """RFC 8288 `Link: <...>; rel="next"` headers, followed on the same origin only."""

    style: Literal["link"]


Pagination = Annotated[
    PagePagination | OffsetPagination | CursorPagination | LinkPagination,
    Field(discriminator="style"),
]


class OpenAPIConfig(_Strict):
    """Where the OpenAPI document is, which of its operations become tools and how to call them."""

    spec: str = Field(min_length=1, description="URL (http/https) or file path, JSON or YAML")
    base_url: HttpUrl | None = Field(
        default=None, description="overrides the document's first `servers` entry"
    )
    system: str = Field(
        default="openapi",
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="the system's name in tool tags, metadata and error messages",
    )
    tool_prefix: str = Field(
        default="", pattern=r"^[A-Za-z0-9_-]*$", description="prepended to every tool name"
    )
    allow: list[str] = Field(
        default_factory=list,
        description=(
            "operations that become tools: an operationId, or `METHOD /path` where both parts "
            "may be globs (`GET /orders/*`, `* /pets`); nothing is allowed unless listed"
        ),
    )
    auth: Auth | None = None
    timeout: float = Field(default=15.0, gt=0, description="seconds per HTTP request")
    attempts: int = Field(default=3, ge=1, description="tries for a read-only call")
    backoff: float = Field(default=0.2, ge=0, description="seconds before the first retry")
    max_retry_after: float = Field(
        default=30.0, ge=0, description="longest Retry-After honoured, in seconds"
    )
    max_response_chars: int = Field(
        default=100_000, ge=1000, description="longer responses are cut, with a note saying so"
    )
    idempotency_header: str = Field(default="Idempotency-Key", min_length=1)
    pagination: dict[str, Pagination] = Field(
        default_factory=dict, description="per operationId (or tool name): how to follow pages"
    )
