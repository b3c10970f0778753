"""One LangChain tool per allowed operation of an OpenAPI document.

A tool is named after the operationId, described by the summary and description, and takes a
pydantic model of the operation's parameters plus a `body` argument for a request body. GET,
HEAD and OPTIONS are read-only; every other method is side-effecting and sends an idempotency key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, create_model

from agent_ops.errors import ConfigError
from tools.connector import Effect, connector_tool
from tools.openapi._config import OpenAPIConfig, Pagination
from tools.openapi._http import Caller, Credentials
from tools.openapi._pagination import follow_pages, owned_params
from tools.openapi._request import Binding, build_request, idempotency_key
from tools.openapi._schema import REGEX_ENGINE, SchemaTypes, python_name
from tools.openapi._spec import READ_METHODS, Document, Operation, load_document, matches

# OpenAPI says these header parameters are ignored: the client owns them.
_CLIENT_HEADERS = frozenset({"accept", "authorization", "content-type"})
_MAX_DESCRIPTION = 1024


async def openapi_tools(
    config: OpenAPIConfig, *, env: Mapping[str, str] | None = None
) -> list[BaseTool]:
    """Load the document and build one tool per operation that `config.allow` lists.

    Secrets are read from `env` (the process environment by default) once, here. Raises
    ConfigError naming the problem: an unreadable document, an `allow` entry or pagination key
    that names no operation, a missing secret, an operation whose body cannot be sent.
    """
    document = await load_document(config.spec, http_timeout=config.timeout)
    credentials = Credentials.from_config(config, os.environ if env is None else env)
    base_url = str(config.base_url) if config.base_url else document.server_url()
    if not base_url or not base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{config.spec}: no absolute server URL (servers: {base_url!r}); set base_url"
        )
    allowed = _allowed(config, document)
    pagination = _pagination(config, allowed)
    caller = Caller(config, credentials)
    types = SchemaTypes(document)
    tools: dict[str, BaseTool] = {}
    for operation in allowed:
        name = _tool_name(config, operation)
        if name in tools:
            raise ConfigError(f"{config.spec}: two allowed operations are both named {name!r}")
        rule = pagination.get(operation)
        binding, schema = _arguments(types, operation, name, rule, config)
        tools[name] = _tool(caller, binding, schema, name, base_url.rstrip("/"), rule)
    return list(tools.values())


def _allowed(config: OpenAPIConfig, document: Document) -> list[Operation]:
    operations = document.operations()
    for rule in config.allow:
        if not any(matches(rule, op) for op in operations):
            known = ", ".join(op.operation_id or op.label for op in operations[:20])
            raise ConfigError(
                f"{config.system}: allow entry {rule!r} matches no operation of {config.spec} "
                f"(operations: {known})"
            )
    return [op for op in operations if any(matches(rule, op) for rule in config.allow)]


def _pagination(config: OpenAPIConfig, allowed: list[Operation]) -> dict[Operation, Pagination]:
    found: dict[Operation, Pagination] = {}
    for key, rule in config.pagination.items():
        named = [op for op in allowed if key in (op.operation_id, _tool_name(config, op))]
        if not named:
            raise ConfigError(
                f"{config.system}: pagination for {key!r}, which is no allowed operation"
            )
        for op in named:
            if op.method != "GET":
                raise ConfigError(
                    f"{config.system}: pagination for {key!r} ({op.label}): only GET "
                    "operations are paginated"
                )
            found[op] = rule
    return found


def _tool_name(config: OpenAPIConfig, operation: Operation) -> str:
    raw = operation.operation_id or f"{operation.method.lower()}_{operation.path}"
    name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_-]", "_", raw)).strip("_")
    return (config.tool_prefix + name)[:64]


def _arguments(
    types: SchemaTypes,
    operation: Operation,
    name: str,
    rule: Pagination | None,
    config: OpenAPIConfig,
) -> tuple[Binding, type[BaseModel]]:
    skipped = {h.lower() for h in _CLIENT_HEADERS | {config.idempotency_header}}
    owned = owned_params(rule) if rule is not None else set()
    model = "".join(part.capitalize() for part in re.split(r"[_-]+", name) if part)
    taken: set[str] = set()
    fields: dict[str, Any] = {}
    params = {}
    for param in operation.parameters:
        if param.location == "header" and param.name.lower() in skipped:
            continue
        if param.location == "query" and param.name in owned:
            continue
        arg = python_name(param.name, taken)
        params[arg] = param
        fields[arg] = types.field(
            param.schema,
            required=param.required,
            hint=f"{model}{arg.title().replace('_', '')}",
            description=param.description,
        )
    body_arg = None
    if operation.body_media is not None:
        if operation.body_schema is None:
            raise ConfigError(
                f"{config.system}: {operation.label} takes {operation.body_media} bodies; "
                "only JSON and form-encoded bodies can be sent"
            )
        body_arg = python_name("body", taken)
        fields[body_arg] = types.field(
            operation.body_schema,
            required=operation.body_required,
            hint=f"{model}Body",
            description=operation.body_description or "the request body",
        )
    config_dict = ConfigDict(extra="forbid", regex_engine=REGEX_ENGINE)
    schema = create_model(f"{model}Args", __config__=config_dict, **fields)
    return Binding(operation, params, body_arg), schema


def _tool(
    caller: Caller,
    binding: Binding,
    schema: type[BaseModel],
    name: str,
    base_url: str,
    rule: Pagination | None,
) -> BaseTool:
    operation = binding.operation
    effect: Effect = "read" if operation.method in READ_METHODS else "write"
    header = caller.config.idempotency_header

    async def call(config: RunnableConfig, **arguments: Any) -> Any:
        request, body = build_request(binding, base_url, arguments)
        if effect == "write":
            request.headers[header] = idempotency_key(caller.system, request, body, config)
        async with caller.client() as http:
            if rule is not None:
                return await follow_pages(caller, http, request, rule)
            return caller.body(await caller.send(http, request, effect=effect))

    return connector_tool(
        call,
        name=name,
        description=_description(operation, rule),
        args_schema=schema,
        effect=effect,
        system=caller.system,
    )


def _description(operation: Operation, rule: Pagination | None) -> str:
    text = "\n\n".join(p for p in (operation.summary, operation.description) if p)
    text = text or f"{operation.method} {operation.path}"
    if len(text) > _MAX_DESCRIPTION:
        text = text[: _MAX_DESCRIPTION - 1] + "…"
    if rule is not None:
        text += (
            f"\n\nReturns {{items, truncated, pages}}: up to {rule.max_items} items over at most "
            f"{rule.max_pages} pages; truncated=true means there were more."
        )
    return text
