"""The one error path: whatever fails inside a route, the client gets JSON with a request id,
and the log holds the traceback under that id; validation errors always serialise."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from server.errors import RequestGuard, install_error_handlers


class _Body(BaseModel):
    limit: int = Field(le=1000)


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestGuard, max_body_bytes=1024)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug nobody caught")

    @app.post("/echo")
    async def echo(body: _Body) -> dict[str, int]:
        return {"limit": body.limit}

    return app


async def test_an_uncaught_exception_is_a_json_500_with_the_request_id_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with caplog.at_level(logging.ERROR, logger="server.errors"):
            response = await http.get("/boom", headers={"x-request-id": "req-7"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": "internal error (request id req-7); the server log has the details",
        "request_id": "req-7",
    }
    record = next(r for r in caplog.records if "req-7" in r.getMessage())
    assert record.exc_info is not None and "a bug nobody caught" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"\xff\xfe not utf-8", "body"),
        (b'{"limit": 100000000000000000000000000000}', "limit"),
        (b'{"limit": "x"}', "limit"),
        (b"[1, 2", "body"),
    ],
)
async def test_a_validation_error_always_serialises_with_a_summarised_input(
    body: bytes, needle: str
) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/echo", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    payload = response.json()
    assert needle in payload["detail"]
    for error in payload["errors"]:
        assert error["input"] is None or isinstance(error["input"], str | int | float | bool)
