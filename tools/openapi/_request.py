"""From a tool call's validated arguments to an HTTP request, and the idempotency key of a write.

Parameters are serialised as OpenAPI's `style`/`explode` say (form, simple, deepObject,
space- and pipe-delimited); the body is the argument model dumped by alias, unset fields left out.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from tools.openapi._spec import Operation, Parameter


@dataclass(frozen=True)
class Binding:
    """Which tool argument feeds which part of the request."""

    operation: Operation
    params: dict[str, Parameter]  # argument name -> parameter
    body_arg: str | None


def plain(value: Any) -> Any:
    """JSON-ready data from validated arguments: models by alias, without fields left unset."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return to_jsonable_python(value)


def build_request(
    binding: Binding, base_url: str, arguments: Mapping[str, Any]
) -> tuple[httpx.Request, Any]:
    """The request for one call (without idempotency key) and the JSON body it carries."""
    op = binding.operation
    path = op.path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for arg, param in binding.params.items():
        value = arguments.get(arg)
        if value is None:
            continue
        value = plain(value)
        if param.location == "path":
            path = path.replace("{" + param.name + "}", quote(_joined(value, ","), safe=""))
        elif param.location == "query":
            query += _query_pairs(param, value)
        elif param.location == "header":
            headers[param.name] = _joined(value, ",")
        else:
            cookies.append(f"{param.name}={quote(_joined(value, ','), safe='')}")
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    body = None
    if binding.body_arg is not None and arguments.get(binding.body_arg) is not None:
        body = plain(arguments[binding.body_arg])
    url = httpx.URL(base_url.rstrip("/") + path, params=query)
    if body is None:
        return httpx.Request(op.method, url, headers=headers), None
    if op.body_media == "application/x-www-form-urlencoded":
        form = {key: _scalar(item) for key, item in dict(body).items()}
        return httpx.Request(op.method, url, headers=headers, data=form), body
    content = json.dumps(body, ensure_ascii=False).encode()
    headers["Content-Type"] = op.body_media or "application/json"
    return httpx.Request(op.method, url, headers=headers, content=content), body


def idempotency_key(
    system: str, request: httpx.Request, body: Any, config: RunnableConfig | None
) -> str:
    """A key for a side-effecting call: the same whenever the same thread repeats the same request.

    It is derived from the thread (the run when there is none) and the request: method, URL and
    body. A resumed run that repeats a write, or a model that calls the tool again after an
    unknown outcome, sends the same key, so a server that honours keys acts once. Two identical
    writes in one thread are therefore one write: vary an argument to make a second. A call
    outside any run gets a fresh random key, as nothing says it repeats an earlier one.
    """
    configurable = (config or {}).get("configurable") or {}
    scope = configurable.get("thread_id") or configurable.get("run_id")
    if not scope:
        return f"{system}-{uuid.uuid4().hex}"
    material = {
        "scope": str(scope),
        "method": request.method,
        "url": str(request.url),
        "body": body,
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode())
    return f"{system}-{digest.hexdigest()[:40]}"


def _query_pairs(param: Parameter, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, list):
        if param.explode and param.style == "form":
            return [(param.name, _scalar(item)) for item in value]
        sep = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(param.style, ",")
        return [(param.name, sep.join(_scalar(item) for item in value))]
    if isinstance(value, dict):
        if param.style == "deepObject":
            return [(f"{param.name}[{k}]", _scalar(v)) for k, v in value.items()]
        if param.explode:
            return [(k, _scalar(v)) for k, v in value.items()]
        return [(param.name, ",".join(f"{k},{_scalar(v)}" for k, v in value.items()))]
    return [(param.name, _scalar(value))]


def _joined(value: Any, sep: str) -> str:
    if isinstance(value, list):
        return sep.join(_scalar(item) for item in value)
    if isinstance(value, dict):
        return sep.join(f"{k}{sep}{_scalar(v)}" for k, v in value.items())
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
