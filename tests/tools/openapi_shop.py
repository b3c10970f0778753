"""A small shop API for the OpenAPI connector's tests: a real FastAPI app served by uvicorn.

Its own `/openapi.json` (OpenAPI 3.1) is one spec under test; `openapi_shop.yaml` describes part
of it by hand in OpenAPI 3.0 with `$ref`s. `Shop` holds what the server saw (every request,
every idempotency key) and lets a test make the next answers fail.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import Body, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

BEARER_TOKEN = "tok-7f3a9c"
API_KEY = "key-51d0e2"
BASIC_USER, BASIC_PASSWORD = "clerk", "pw-c81e"
TOTAL = 23  # items behind each paginated route


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, description="the product's stock keeping unit")
    quantity: int = Field(ge=1, le=100)


class NewOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(pattern=r"^C-\d{3}$", description="customer number, e.g. C-042")
    lines: list[Line] = Field(min_length=1)
    priority: Literal["low", "normal", "high"] = "normal"
    note: str | None = None


class Order(NewOrder):
    id: int
    status: Literal["open", "cancelled"] = "open"


@dataclass
class Shop:
    """The server's memory: orders, keys seen, requests counted, failures to inject."""

    orders: dict[int, Order] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    keys_seen: list[str | None] = field(default_factory=list)
    created: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    fail_next: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    slow_answers: list[float] = field(default_factory=list)  # next POST /orders answers this late
    query_strings: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Forget everything: a fresh shop for the next test, on the same server."""
        self.__init__()  # type: ignore[misc]

    def fail(self, route: str, status: int = 503, times: int = 1, retry_after: str | None = None):
        """Answer the next `times` requests to `route` ("GET /items") with `status`."""
        self.fail_next.setdefault(route, []).extend([(status, retry_after)] * times)


def shop_app(shop: Shop) -> FastAPI:
    app = FastAPI(title="Shop", version="1.0")

    @app.middleware("http")
    async def count_and_fail(request: Request, call_next: Any) -> Response:
        route = f"{request.method} {request.url.path}"
        shop.hits[route] += 1
        shop.query_strings.append(f"{route}?{request.url.query}")
        pending = shop.fail_next.get(route)
        if pending:
            status, retry_after = pending.pop(0)
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return JSONResponse({"detail": "busy, try later"}, status, headers=headers)
        response: Response = await call_next(request)
        return response

    @app.get("/orders/{order_id}", operation_id="get_order", summary="Read one order.")
    async def get_order(order_id: int) -> Order:
        if order_id not in shop.orders:
            raise HTTPException(404, f"order {order_id} does not exist")
        return shop.orders[order_id]

    @app.get("/orders", operation_id="list_orders", summary="List orders.")
    async def list_orders(
        status: Literal["open", "cancelled"] | None = None,
        customer: Annotated[str | None, Query(pattern=r"^C-\d{3}$")] = None,
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> list[Order]:
        found = [
            o
            for o in shop.orders.values()
            if (status is None or o.status == status) and customer in (None, o.customer)
        ]
        return found[:limit]

    @app.post("/orders", operation_id="create_order", status_code=201, summary="Place an order.")
    async def create_order(
        order: NewOrder,
        response: Response,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Order:
        shop.keys_seen.append(idempotency_key)
        if idempotency_key in shop.by_key:
            response.status_code = 200  # a replay: the first answer again, nothing new made
            return shop.orders[shop.by_key[idempotency_key]]
        shop.created += 1
        made = Order(id=len(shop.orders) + 1, **order.model_dump())
        shop.orders[made.id] = made
        if idempotency_key:
            shop.by_key[idempotency_key] = made.id
        if shop.slow_answers:  # the order exists; its answer is late
            await asyncio.sleep(shop.slow_answers.pop(0))
        return made

    @app.delete("/orders/{order_id}", operation_id="cancel_order", status_code=204)
    async def cancel_order(order_id: int) -> None:
        if order_id not in shop.orders:
            raise HTTPException(404, f"order {order_id} does not exist")
        shop.orders[order_id].status = "cancelled"

    @app.post("/categories", operation_id="create_category", summary="Store a category tree.")
    async def create_category(tree: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return {"stored": tree}

    @app.get("/items", operation_id="list_items", summary="Items, by numbered page.")
    async def list_items(page: int = 1, per_page: int = 10) -> dict[str, Any]:
        start = (page - 1) * per_page
        return {"data": _range("item", start, per_page), "page": page}

    @app.get("/events", operation_id="list_events", summary="Events, by offset and limit.")
    async def list_events(offset: int = 0, limit: int = 10) -> list[dict[str, Any]]:
        return _range("event", offset, limit)

    @app.get("/logs", operation_id="list_logs", summary="Log entries, by cursor.")
    async def list_logs(cursor: str | None = None) -> dict[str, Any]:
        start = int(cursor.removeprefix("after-")) if cursor else 0
        entries = _range("log", start, 5)
        following = f"after-{start + 5}" if start + 5 < TOTAL else None
        return {"result": {"entries": entries, "next": following}}

    @app.get("/things", operation_id="list_things", summary="Things, following Link headers.")
    async def list_things(request: Request, response: Response, p: int = 1) -> list[Any]:
        if p * 5 < TOTAL:
            response.headers["Link"] = f'</things?p={p + 1}>; rel="next"'
        return _range("thing", (p - 1) * 5, 5)

    @app.get("/report", operation_id="get_report", response_class=PlainTextResponse)
    async def get_report() -> str:
        return "orders: " + str(len(shop.orders))

    @app.get("/big", operation_id="get_big")
    async def get_big() -> list[dict[str, Any]]:
        return [{"n": n, "padding": "x" * 40} for n in range(5000)]

    @app.get("/boom", operation_id="get_boom")
    async def get_boom() -> None:
        raise HTTPException(500, "the ledger is locked")

    @app.get("/secure/bearer", operation_id="whoami_bearer")
    async def whoami_bearer(authorization: Annotated[str, Header()] = "") -> dict[str, str]:
        _require(authorization == f"Bearer {BEARER_TOKEN}", "bearer token")
        return {"auth": "bearer"}

    @app.get("/secure/header-key", operation_id="whoami_header_key")
    async def whoami_header_key(x_api_key: Annotated[str, Header()] = "") -> dict[str, str]:
        _require(x_api_key == API_KEY, "X-API-Key header")
        return {"auth": "header key"}

    @app.get("/secure/query-key", operation_id="whoami_query_key")
    async def whoami_query_key(api_key: str = "") -> dict[str, str]:
        _require(api_key == API_KEY, "api_key query parameter")
        return {"auth": "query key"}

    @app.get("/secure/basic", operation_id="whoami_basic")
    async def whoami_basic(authorization: Annotated[str, Header()] = "") -> dict[str, str]:
        pair = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
        _require(authorization == f"Basic {pair}", "basic credentials")
        return {"auth": "basic"}

    return app


def _range(kind: str, start: int, count: int) -> list[dict[str, Any]]:
    return [{"id": f"{kind}-{n}"} for n in range(start, min(start + count, TOTAL))]


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise HTTPException(401, f"missing or wrong {what}")


class ServedApp:
    """Serve an ASGI app with uvicorn on 127.0.0.1, on an ephemeral port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
