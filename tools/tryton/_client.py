"""An async client for Tryton's REST API (trytond 8.0, `trytond/protocols/rest.py`).

Routes, under `{url}/{database}/rest/`: `GET model/{name}` searches (domain `d`, fields `f`,
order `o`, paging by a `Range: records=a-b` header answered with `Content-Range`),
`GET model/{name}/{id}` reads, `POST model/{name}` creates, `PUT model/{name}/{id}` writes,
`POST model/{name}/{id}/{action}` runs a button or RPC method. A user application key
authenticates (`Authorization: bearer KEY`); the context (company, language) travels
base64-encoded in `X-Tryton-Context`. Tryton answers its own errors as JSON (`message`,
`description`) and everything else (404, 401, 500) as a werkzeug HTML page; both become
ConnectorRejected or ConnectorUnavailable naming the URL and Tryton's text.
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

from agent_ops.errors import ConnectorError, ConnectorRejected, ConnectorUnavailable
from agent_ops.governance.tools import guarded
from tools.connector import (
    Effect,
    RetryPolicy,
    TransientFailure,
    http_with_retries,
    tls_context,
)
from tools.tryton import _json

SYSTEM = "tryton"
_SEARCH_LOOKS = 3  # a search refused with 400 is asked this often (see `_page`)
Domain = Sequence[Any]


class TrytonSettings(BaseModel):
    """Where and as whom to reach Tryton. Build it once (from settings) and pass it in.

    `url` may be the URL a user copies from Tryton, with the database in it: the database's URL
    (`http://host:8000/mydb/`), its REST base (`http://host:8000/mydb/rest/`) or the web
    client's (`http://host:8000/#mydb`); `database` then may be left out. Given both, they
    must agree. A Tryton served under a path prefix is given by its REST base
    (`http://host/erp/mydb/rest/`): a path without `rest/` is read as the database.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: HttpUrl = Field(
        description="Tryton's root URL (http://host:8000/) or its database URL "
        "(http://host:8000/mydb/, or the REST base http://host:8000/mydb/rest/)"
    )
    database: str = Field(
        min_length=1, description="the Tryton database name; taken from `url` when it has one"
    )
    api_key: SecretStr = Field(description="a user application key for the `rest` application")
    company: int | None = Field(
        default=None, description="company id sent in the context; the user's own if unset"
    )
    language: str | None = Field(default=None, description="e.g. `en`; the user's own if unset")
    timeout: float = Field(default=15.0, gt=0, description="seconds per HTTP request")
    attempts: int = Field(default=3, ge=1, description="tries for a read-only call")
    backoff: float = Field(default=0.2, ge=0, description="seconds before the first retry")
    page_size: int = Field(default=100, ge=1, le=1000, description="records per search page")
    payment_journal: int | str | None = Field(
        default=None,
        description="the payment journal (id or name) supplier invoices are paid from; needed "
        "when the company has several for the invoice's currency",
    )

    @model_validator(mode="before")
    @classmethod
    def _database_in_url(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("url") is None:
            return data
        url = str(data["url"])
        root, named = split_database_url(url)
        if named is None:
            return data
        given = data.get("database")
        if given is not None and given != named:
            raise ValueError(
                f"the url {url} names database {named!r} but `database` is {given!r}: leave "
                "`database` out, or make the two the same"
            )
        return {**data, "url": root, "database": named}


def split_database_url(url: str) -> tuple[str, str | None]:
    """Tryton's root URL and the database a URL names (None when it names none)."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    database: str | None = None
    if "rest" in segments[1:]:  # the REST base, or a REST route under it
        at = segments.index("rest", 1)
        database, segments = segments[at - 1], segments[: at - 1]
    elif parts.fragment:  # the web client's: http://host:8000/#mydb/model/...
        database = parts.fragment.strip("/").split("/")[0] or None
    elif segments:
        database, segments = segments[-1], segments[:-1]
    if database is None:
        return url, None
    path = "/" + "".join(f"{segment}/" for segment in segments)
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")), unquote(database)


class TrytonClient:
    """Tryton's REST API over one httpx.AsyncClient; close it with `aclose()` or `async with`."""

    def __init__(
        self, settings: TrytonSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.base_url = f"{str(settings.url).rstrip('/')}/{settings.database}/rest/"
        self._policy = RetryPolicy(attempts=settings.attempts, backoff=settings.backoff)
        headers = {"Authorization": f"bearer {settings.api_key.get_secret_value()}"}
        context: dict[str, Any] = {}
        if settings.company is not None:
            context["company"] = settings.company
        if context:
            headers["X-Tryton-Context"] = _b64(_json.dumps(context))
        if settings.language:
            headers["Accept-Language"] = settings.language
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=settings.timeout,
            transport=transport,
            verify=tls_context(),
        )

    async def __aenter__(self) -> TrytonClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def search(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        order: Sequence[tuple[str, str]] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return the records of `model` matching `domain`, reading pages until `limit`."""
        params: list[tuple[str, str]] = [("d", _b64(_json.dumps(list(domain))))]
        params += [("f", name) for name in fields]
        if order:
            params.append(("o", _b64(_json.dumps([list(pair) for pair in order]))))
        records: list[dict[str, Any]] = []
        page = self.settings.page_size
        while limit is None or len(records) < limit:
            size = page if limit is None else min(page, limit - len(records))
            start = offset + len(records)
            rows, total = await self._page(f"model/{model}", params, start, size)
            records.extend(rows)
            if len(rows) < size or (total is not None and start + len(rows) >= total):
                break
        return records

    async def read(self, model: str, record_id: int, fields: Sequence[str]) -> dict[str, Any]:
        """Return one record; ConnectorRejected (404) when it does not exist."""
        result = await self._call(
            "GET", f"model/{model}/{record_id}", effect="read", params=[("f", f) for f in fields]
        )
        return _record(result, model)

    async def create(
        self, model: str, values: dict[str, Any], fields: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Create one record and return it with `fields`."""
        result = await self._call(
            "POST", f"model/{model}", effect="write", json=values, params=[("f", f) for f in fields]
        )
        return _record(result, model)

    async def write(
        self, model: str, record_id: int, values: dict[str, Any], fields: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Write `values` on one record and return it with `fields`."""
        result = await self._call(
            "PUT",
            f"model/{model}/{record_id}",
            effect="write",
            json=values,
            params=[("f", f) for f in fields],
        )
        return _record(result, model)

    async def delete(self, model: str, record_id: int) -> None:
        """Delete one record."""
        await self._call("DELETE", f"model/{model}/{record_id}", effect="write")

    async def action(
        self,
        model: str,
        action: str,
        record_id: int | None = None,
        data: dict[str, Any] | None = None,
        *,
        effect: Effect = "write",
    ) -> Any:
        """Run a button or RPC method, on one record when `record_id` is given."""
        path = (
            f"model/{model}/{action}"
            if record_id is None
            else f"model/{model}/{record_id}/{action}"
        )
        return await self._call("POST", path, effect=effect, json=data or {})

    async def _page(
        self, path: str, params: list[tuple[str, str]], start: int, size: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        headers = {"Range": f"records={start}-{start + size}"}
        for look in range(_SEARCH_LOOKS):
            try:
                response = await self._send(
                    "GET", path, effect="read", params=params, headers=headers
                )
                break
            except ConnectorRejected as refused:
                # Tryton answers a search by finding ids, then reading them; on its SQLite
                # backend the two are not one snapshot, so a record a concurrent writer deleted
                # in between fails the read with 400 ("records ... that don't exist"). A search
                # is a read: asked again, it no longer finds the deleted record. A refusal that
                # stands (a bad domain) is raised after the last look.
                if refused.status != 400 or look == _SEARCH_LOOKS - 1:
                    raise
                await asyncio.sleep(0.05 * (look + 1))
        if response.status_code == 416:  # the range starts past the last record
            return [], start
        rows = self._decode(response)
        if not isinstance(rows, list):
            raise self._error(ConnectorError, response, "a search did not answer a list")
        total: int | None = None
        match = re.fullmatch(r"records \d+-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
        if match and match.group(1) != "*":
            total = int(match.group(1))
        return rows, total

    async def _call(self, method: str, path: str, *, effect: Effect, **kwargs: Any) -> Any:
        if effect == "write":
            # The one door for Tryton writes: only where the run's graph may (a write inside
            # an allowed Tryton tool or ERP operation is part of it).
            return await guarded(
                SYSTEM,
                f"{method} {path}",
                lambda: self._answer(method, path, effect=effect, **kwargs),
                payload=kwargs.get("json"),
            )
        return await self._answer(method, path, effect=effect, **kwargs)

    async def _answer(self, method: str, path: str, *, effect: Effect, **kwargs: Any) -> Any:
        response = await self._send(method, path, effect=effect, **kwargs)
        if response.status_code == 204:
            return None
        return self._decode(response)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        effect: Effect,
        json: Any = None,
        params: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        content = None if json is None else _json.dumps(json)
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        url = self.base_url + path

        query = httpx.QueryParams(tuple(params)) if params else None
        try:
            response = await http_with_retries(
                lambda: self._http.request(
                    method, path, content=content, params=query, headers=headers
                ),
                effect=effect,
                policy=self._policy,
                describe=_status_text,
            )
        except TransientFailure as failure:
            tries = (
                ""
                if effect == "write" and failure.sent
                else f" after {self._policy.attempts} tries"
            )
            outcome = (
                "; the outcome is unknown: repeat the call with the same idempotency key"
                if effect == "write" and failure.sent
                else ""
            )
            raise ConnectorUnavailable(
                f"Tryton at {url} did not answer {method}{tries}: {failure}{outcome}",
                system=SYSTEM,
                url=url,
            ) from failure
        if response.status_code >= 400:
            # A 500 is Tryton's own exception on this input: repeating it will not help.
            raise self._error(ConnectorRejected, response, _error_text(response))
        return response

    def _decode(self, response: httpx.Response) -> Any:
        try:
            return _json.loads(response.content)
        except ValueError as exc:
            raise self._error(
                ConnectorError, response, f"answered {_content_type(response)}, not JSON"
            ) from exc

    def _error(
        self, cls: type[ConnectorError], response: httpx.Response, detail: str
    ) -> ConnectorError:
        request = response.request
        url = str(request.url.copy_with(query=None))  # the query repeats the field list
        verb = "refused" if issubclass(cls, ConnectorRejected) else "failed"
        record = re.search(r"/rest/model/([\w.]+)/(\d+)", url)
        if response.status_code == 404 and record:
            detail = (
                f"not found: no {record.group(1)} with id {record.group(2)}, "
                f"or no database {self.settings.database!r}"
            )
        return cls(
            f"Tryton {verb} {request.method} {url} ({response.status_code}): {detail}",
            system=SYSTEM,
            url=url,
            status=response.status_code,
        )


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _record(result: Any, model: str) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise TypeError(f"Tryton answered {type(result).__name__} for a {model} record")
    return result


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("Content-Type", "no content type").split(";")[0]


def _status_text(response: httpx.Response) -> str:
    return f"{response.status_code} {response.reason_phrase}"


def _error_text(response: httpx.Response) -> str:
    """Tryton's message from a JSON error, or the title and text of an HTML error page."""
    if _content_type(response) == "application/json":
        try:
            body = _json.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("message"):
            parts = [str(body["message"]), str(body.get("description") or "")]
            return " ".join(part.strip() for part in parts if part.strip())
    text = response.text
    title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
    paragraph = re.search(r"<p>(.*?)</p>", text, re.S | re.I)
    parts = [m.group(1) for m in (title, paragraph) if m]
    if not parts:
        return _status_text(response) + (f": {text.strip()[:200]}" if text.strip() else "")
    return ": ".join(html.unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in parts)
