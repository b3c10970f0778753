"""HTTP for the OpenAPI tools: credentials, one request under the connector retry rule, answers.

Read-only requests are repeated on transport errors and 429/502/503/504 (waiting as long as a
Retry-After asks, up to a cap); side-effecting ones only when the connection was refused. A 4xx
becomes ConnectorRejected with the server's own message, any other failing answer a
ConnectorError, a server out of reach (or still failing after the retries) ConnectorUnavailable.
"""

from __future__ import annotations

import base64
import email.utils
import html
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from agent_ops.errors import ConfigError, ConnectorError, ConnectorRejected, ConnectorUnavailable
from agent_ops.governance.tools import guarded
from tools.connector import (
    Effect,
    RetryPolicy,
    TransientFailure,
    http_with_retries,
    tls_context,
)
from tools.openapi._config import ApiKeyAuth, BasicAuth, BearerAuth, OpenAPIConfig


@dataclass(frozen=True)
class Credentials:
    """Secrets read from the environment once; kept out of reprs, URLs in messages and logs."""

    headers: dict[str, str] = field(default_factory=dict, repr=False)
    query: tuple[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: OpenAPIConfig, env: Mapping[str, str]) -> Credentials:
        auth = config.auth
        if auth is None:
            return cls()

        def secret(name: str) -> str:
            value = env.get(name)
            if not value:
                raise ConfigError(
                    f"{config.system}: environment variable {name} (auth {auth.type}) is not set"
                )
            return value

        if isinstance(auth, BearerAuth):
            return cls(headers={"Authorization": f"Bearer {secret(auth.token_env)}"})
        if isinstance(auth, BasicAuth):
            pair = f"{auth.username}:{secret(auth.password_env)}".encode()
            return cls(headers={"Authorization": f"Basic {base64.b64encode(pair).decode()}"})
        assert isinstance(auth, ApiKeyAuth)
        if auth.location == "query":
            return cls(query=(auth.name, secret(auth.key_env)))
        return cls(headers={auth.name: secret(auth.key_env)})


class _QueryKey(httpx.AsyncBaseTransport):
    """Adds the API key to a copy of each request, so httpx's log and our errors never see it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, name: str, value: str) -> None:
        self._inner = inner
        self._name = name
        self._value = value

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        keyed = httpx.Request(
            request.method,
            request.url.copy_set_param(self._name, self._value),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(keyed)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Caller:
    """Sends one operation's requests for a tool call; one httpx client per tool call."""

    def __init__(self, config: OpenAPIConfig, credentials: Credentials) -> None:
        self.config = config
        self.system = config.system
        self._credentials = credentials
        self._policy = RetryPolicy(
            attempts=config.attempts,
            backoff=config.backoff,
            max_retry_after=config.max_retry_after,
        )

    def client(self) -> httpx.AsyncClient:
        transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(verify=tls_context())
        if self._credentials.query is not None:
            transport = _QueryKey(transport, *self._credentials.query)
        return httpx.AsyncClient(timeout=self.config.timeout, transport=transport)

    async def send(
        self, http: httpx.AsyncClient, request: httpx.Request, *, effect: Effect
    ) -> httpx.Response:
        """Send `request` under the retry rule; return a 2xx answer or raise a ConnectorError.

        A write goes through the tool permissions' door: only where the run's graph may."""
        if effect == "read":
            return await self._send(http, request, effect=effect)
        return await guarded(
            self.system,
            f"{request.method} {_shown(request.url)}",
            lambda: self._send(http, request, effect=effect),
            payload={"body": request.content.decode(errors="replace")},
            key=request.headers.get(self.config.idempotency_header),
            output=lambda response: response.text,
        )

    async def _send(
        self, http: httpx.AsyncClient, request: httpx.Request, *, effect: Effect
    ) -> httpx.Response:
        url = _shown(request.url)
        request.headers.update(self._credentials.headers)  # client.send adds no client headers

        try:
            response = await http_with_retries(
                lambda: http.send(request),
                effect=effect,
                policy=self._policy,
                describe=lambda r: f"{r.status_code} {r.reason_phrase}: {server_message(r)}",
                retry_after=_retry_after,
            )
        except TransientFailure as failure:
            raise self._unavailable(request.method, url, failure, effect) from failure
        status = response.status_code
        if status < 300:
            return response
        message = server_message(response)
        if 400 <= status < 500:
            raise ConnectorRejected(
                f"{self.system} refused {request.method} {url} ({status}): {message}",
                system=self.system,
                url=url,
                status=status,
            )
        raise ConnectorError(
            f"{self.system} failed {request.method} {url} ({status}): {message}",
            system=self.system,
            url=url,
            status=status,
        )

    def _unavailable(
        self, method: str, url: str, failure: TransientFailure, effect: Effect
    ) -> ConnectorUnavailable:
        if effect == "write" and failure.sent:
            detail = (
                f"{self.system} did not complete {method} {url}: {failure}; the outcome is "
                "unknown and the call was not repeated. Calling the tool again with the same "
                "arguments in the same thread sends the same idempotency key, so a server that "
                "honours it will not act twice"
            )
        else:
            verb = "could not be reached for" if not failure.sent else "did not answer"
            detail = (
                f"{self.system} {verb} {method} {url} after {self._policy.attempts} "
                f"{'try' if self._policy.attempts == 1 else 'tries'}: {failure}"
            )
        return ConnectorUnavailable(detail, system=self.system, url=url)

    def body(self, response: httpx.Response) -> Any:
        """The answer's JSON as is, or its text; either cut to the size cap with a note."""
        cap = self.config.max_response_chars
        if not response.content:
            return f"{response.status_code} {response.reason_phrase} (no content)"
        if _is_json(response):
            try:
                data = response.json()
            except ValueError:
                data = None
            else:
                return cap_json(data, cap)
        text = response.text
        if len(text) <= cap:
            return text
        return f"{text[:cap]}\n[cut: the response has {len(text)} characters; the first {cap} are shown]"


def cap_json(data: Any, cap: int) -> Any:
    """`data` unchanged when its JSON fits in `cap` characters, else a prefix and a note."""
    text = json.dumps(data, ensure_ascii=False)
    if len(text) <= cap:
        return data
    note = f"the response has {len(text)} characters of JSON, over the cap of {cap}"
    if isinstance(data, list):
        kept: list[Any] = []
        size = 2
        for item in data:
            size += len(json.dumps(item, ensure_ascii=False)) + 2
            if size > cap:
                break
            kept.append(item)
        return {
            "truncated": True,
            "note": f"{note}; the first {len(kept)} of {len(data)} items are shown",
            "items": kept,
        }
    return {
        "truncated": True,
        "note": f"{note}; the first {cap} characters of its text are shown",
        "content": text[:cap],
    }


def server_message(response: httpx.Response) -> str:
    """The server's own words: `detail`/`message`/`error` of a JSON body, or an HTML page's text."""
    if _is_json(response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            for key in ("detail", "message", "error_description", "error", "title"):
                if body.get(key):
                    return _words(body[key])
        if body is not None:
            return _words(body)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", response.text, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = " ".join(text.split())
    return text[:500] or response.reason_phrase or "no message"


def _words(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # FastAPI's validation errors: [{"loc": [...], "msg": ...}]
        parts = []
        for item in value:
            if isinstance(item, dict) and "msg" in item:
                where = ".".join(str(p) for p in item.get("loc") or [])
                parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
            else:
                parts.append(_words(item))
        return "; ".join(parts)
    if isinstance(value, dict) and value.get("message"):
        return str(value["message"])
    return json.dumps(value, ensure_ascii=False)[:500]


def _is_json(response: httpx.Response) -> bool:
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _shown(url: httpx.URL) -> str:
    """The URL as messages show it: no query (it may be long, or carry what is not ours)."""
    return str(url.copy_with(query=None))
