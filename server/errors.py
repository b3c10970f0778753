"""The one error path: every failure becomes a JSON answer that can always be serialised.

`AgentOpsError`s map to their status codes; validation errors to 422 with each problem named and
its input summarised (bytes, huge numbers and nested values made short text, never echoed raw);
anything else to 500 with the request's id, the traceback logged under that id. An ASGI
middleware gives every request an id (`X-Request-Id`, the caller's if it sent a sane one), refuses
bodies over the size limit with 413 before reading them, and catches what escapes the handlers,
so no request ever gets an HTML page or a dropped connection.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_ops import AgentOpsError
from agent_ops.errors import TooManyRequests
from server.responses import JsonResponse
from server.stream_slots import RELEASE_KEY

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_INPUT_CHARS = 200


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers for agent-ops errors and request validation errors."""

    @app.exception_handler(AgentOpsError)
    async def _agent_ops_error(request: Request, exc: AgentOpsError) -> JsonResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JsonResponse({"detail": str(exc)}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JsonResponse:
        errors = [_error(e) for e in exc.errors()]
        return JsonResponse(
            {"detail": "; ".join(e["message"] for e in errors), "errors": errors},
            status_code=422,
        )


class RequestGuard:
    """ASGI middleware: a request id on every request and answer, the body size limit, and a
    JSON 500 (logged with the id) for anything the handlers let through."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False
        if _has_nul(scope):
            # PostgreSQL text cannot hold U+0000; refuse it in the path or query up front.
            await _answer(
                send, 422, request_id, "the URL's path or query holds a NUL character (%00)"
            )
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _answer(send, 413, request_id, self._too_large(declared))
            return
        if declared is None and _has_body(scope):
            # No Content-Length (chunked): read it here, up to the limit, and hand it on whole.
            body = await _read_limited(receive, self.max_body_bytes)
            if body is None:
                await _answer(send, 413, request_id, self._too_large(None))
                return
            receive = _replay(body, receive)

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "request %s %s failed (request id %s)", scope["method"], scope["path"], request_id
            )
            if not started:
                await _answer(
                    send,
                    500,
                    request_id,
                    f"internal error (request id {request_id}); the server log has the details",
                )
        finally:
            # A stream's slot is freed when its request ends, however it ends.
            release = scope["state"].get(RELEASE_KEY)
            if release is not None:
                release()

    def _too_large(self, size: int | None) -> str:
        seen = f"more than {self.max_body_bytes}" if size is None else str(size)
        return (
            f"request body of {seen} bytes is over the limit of {self.max_body_bytes} bytes "
            f"(AGENT_OPS_MAX_BODY_BYTES)"
        )


def _has_nul(scope: Scope) -> bool:
    raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    query = scope.get("query_string", b"")
    return (
        any(b"\x00" in part or b"%00" in part for part in (raw, query)) or "\x00" in scope["path"]
    )


def _has_body(scope: Scope) -> bool:
    return scope["method"] in ("POST", "PUT", "PATCH", "DELETE")


async def _read_limited(receive: Receive, limit: int) -> bytes | None:
    """Return the whole body, or None as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then the disconnect, when it comes

    return replay


async def _answer(send: Send, status: int, request_id: str, detail: str) -> None:
    body = orjson.dumps({"detail": detail, "request_id": request_id})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (REQUEST_ID_HEADER.encode(), request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text: str = value.decode("latin-1")
            if _SANE_ID.match(text):
                return text
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _error(error: dict[str, Any]) -> dict[str, Any]:
    """One validation problem as JSON that always serialises: where, what, and a short input."""
    loc = [part if isinstance(part, str | int) else str(part) for part in error.get("loc", ())]
    where = ".".join(str(part) for part in loc)
    kind = str(error.get("type", ""))
    value = error.get("input")
    if kind == "storable":  # our own check names the place itself
        message = str(error.get("msg"))
    elif kind == "extra_forbidden":
        message = f"{where}: unknown field (not part of the LangGraph API or not supported)"
    elif loc == ["body"] and isinstance(value, bytes | str):
        message = "body: expected a JSON object sent with Content-Type: application/json"
    else:
        message = f"{where}: {error.get('msg')}"
    return {
        "loc": loc,
        "type": kind,
        "msg": str(error.get("msg")),
        "message": message,
        "input": _summary(value),
    }


def _summary(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and -(2**53) <= value <= 2**53:
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return value
    if isinstance(value, bytes):
        text = value[:_INPUT_CHARS].decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= _INPUT_CHARS else text[:_INPUT_CHARS] + "..."
