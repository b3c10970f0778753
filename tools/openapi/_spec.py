"""An OpenAPI 3.0 or 3.1 document: loading it (URL or file, JSON or YAML), local `$ref`s, operations.

Only local references (`#/components/...`, `#/paths/...`) are followed; a reference to another
document, a missing target or a chain of references that loops is a ConfigError naming it.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

import anyio
import httpx
import yaml

from agent_ops.errors import ConfigError
from tools.connector import tls_context
from tools.json_path import walk

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query, header or cookie
    required: bool
    schema: dict[str, Any]
    description: str
    style: str
    explode: bool


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per document entry
class Operation:
    method: str  # upper case
    path: str
    operation_id: str | None
    summary: str
    description: str
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    body_media: str | None  # application/json or application/x-www-form-urlencoded
    body_required: bool
    body_description: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class Document:
    """A parsed OpenAPI document and the means to follow its local references."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        version = str(data.get("openapi", ""))
        if not re.match(r"^3\.[01]\.", version):
            found = f"swagger {data['swagger']}" if "swagger" in data else f"openapi {version!r}"
            raise ConfigError(f"{source} is {found}; only OpenAPI 3.0 and 3.1 are supported")
        if not isinstance(data.get("paths"), dict):
            raise ConfigError(f"{source} has no `paths` object")

    def resolve(self, node: Any) -> Any:
        """Follow `$ref` until a node without one; loops and foreign references are errors."""
        seen: list[str] = []
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise ConfigError(f"{self.source}: $ref loop {' -> '.join([*seen, ref])}")
            seen.append(ref)
            node = self.target(ref)
        return node

    def target(self, ref: Any) -> Any:
        """The node a local JSON pointer (`#/a/b`) names."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ConfigError(
                f"{self.source}: $ref {ref!r} points outside the document; only local "
                "references (#/components/...) are supported"
            )
        parts = (unquote(raw).replace("~1", "/").replace("~0", "~") for raw in ref[1:].split("/"))
        try:
            return walk(self.data, filter(None, parts))
        except LookupError:
            raise ConfigError(
                f"{self.source}: $ref {ref!r} names nothing in the document"
            ) from None

    def server_url(self) -> str | None:
        """The first `servers` URL, resolved against the document's own URL when relative."""
        servers = self.data.get("servers") or [{"url": "/"}]  # OpenAPI's default server
        if not isinstance(servers[0], dict) or not servers[0].get("url"):
            return None
        url = str(servers[0]["url"])
        for name, variable in (servers[0].get("variables") or {}).items():
            url = url.replace("{" + name + "}", str(variable.get("default", "")))
        if self.source.startswith(("http://", "https://")):
            url = urljoin(self.source, url)
        return url

    def operations(self) -> list[Operation]:
        """Every operation of the document, its parameters and body schema resolved."""
        found: list[Operation] = []
        for path, item in self.data["paths"].items():
            item = self.resolve(item)
            shared = self._parameters(item.get("parameters") or [], path)
            for method in METHODS:
                raw = item.get(method)
                if not isinstance(raw, dict):
                    continue
                own = self._parameters(raw.get("parameters") or [], path)
                merged = {(p.name, p.location): p for p in shared}
                merged.update({(p.name, p.location): p for p in own})
                found.append(self._operation(method.upper(), path, raw, tuple(merged.values())))
        return found

    def _parameters(self, raw: list[Any], path: str) -> list[Parameter]:
        params = []
        for item in raw:
            item = self.resolve(item)
            location = item.get("in")
            if location not in ("path", "query", "header", "cookie") or not item.get("name"):
                raise ConfigError(f"{self.source}: a parameter of {path} has no valid name/in")
            style = item.get("style") or ("form" if location in ("query", "cookie") else "simple")
            params.append(
                Parameter(
                    name=item["name"],
                    location=location,
                    required=bool(item.get("required")) or location == "path",
                    schema=item.get("schema") or _content_schema(item) or {},
                    description=str(item.get("description") or ""),
                    style=style,
                    explode=bool(item.get("explode", style == "form")),
                )
            )
        return params

    def _operation(
        self, method: str, path: str, raw: dict[str, Any], params: tuple[Parameter, ...]
    ) -> Operation:
        body = self.resolve(raw.get("requestBody")) if raw.get("requestBody") else None
        media: str | None = None
        schema: dict[str, Any] | None = None
        if body is not None:
            content = body.get("content") or {}
            media = next((m for m in content if _is_json(m)), None)
            if media is None and "application/x-www-form-urlencoded" in content:
                media = "application/x-www-form-urlencoded"
            if media is not None:
                schema = content[media].get("schema") or {}
            elif content:
                media = next(iter(content))  # unsupported; refused if the operation is allowed
        return Operation(
            method=method,
            path=path,
            operation_id=raw.get("operationId"),
            summary=str(raw.get("summary") or "").strip(),
            description=str(raw.get("description") or "").strip(),
            parameters=params,
            body_schema=schema,
            body_media=media,
            body_required=bool(body and body.get("required")),
            body_description=str((body or {}).get("description") or ""),
        )


def matches(rule: str, operation: Operation) -> bool:
    """Whether an `allow` entry (an operationId, or `METHOD /path` globs) names the operation."""
    method, _, path = rule.strip().partition(" ")
    if path.strip().startswith("/"):
        return fnmatch.fnmatchcase(operation.method, method.upper()) and fnmatch.fnmatchcase(
            operation.path, path.strip()
        )
    return operation.operation_id == rule.strip()


async def load_document(location: str, *, http_timeout: float) -> Document:
    """Read the document from a URL or a file and parse it as JSON or YAML."""
    if location.startswith(("http://", "https://")):
        try:
            async with httpx.AsyncClient(
                timeout=http_timeout, follow_redirects=True, verify=tls_context()
            ) as http:
                response = await http.get(location)
        except httpx.TransportError as exc:
            raise ConfigError(f"cannot fetch the OpenAPI document {location}: {exc}") from exc
        if response.status_code != 200:
            raise ConfigError(
                f"cannot fetch the OpenAPI document {location}: {response.status_code} "
                f"{response.reason_phrase}"
            )
        text = response.text
    else:
        try:
            text = await anyio.to_thread.run_sync(Path(location).read_text)
        except OSError as exc:
            raise ConfigError(f"cannot read the OpenAPI document {location}: {exc}") from exc
    return Document(_parse(text, location), location)


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = yaml.load(text, Loader=_TextDates)  # a SafeLoader: no arbitrary objects
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source} is neither JSON nor YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source} is not an OpenAPI document (not an object)")
    return data


class _TextDates(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, as JSON would (defaults and enums stay strings)."""


_TextDates.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _is_json(media: str) -> bool:
    base = media.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _content_schema(item: dict[str, Any]) -> dict[str, Any] | None:
    for media, value in (item.get("content") or {}).items():
        if _is_json(media):
            schema: dict[str, Any] = value.get("schema") or {}
            return schema
    return None
