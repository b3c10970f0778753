"""The OpenAPI connector against a real FastAPI shop on loopback: its own /openapi.json (3.1) and
a hand-written 3.0 YAML description of it; auth, retries, idempotency keys, pagination, errors."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from agent_ops.errors import ConfigError, ConnectorError, ConnectorRejected, ConnectorUnavailable
from tests.models.fakes import closed_port
from tests.tools.openapi_shop import (
    API_KEY,
    BASIC_PASSWORD,
    BASIC_USER,
    BEARER_TOKEN,
    TOTAL,
    ServedApp,
    Shop,
    shop_app,
)
from tools.openapi import OpenAPIConfig, openapi_tools

YAML_SPEC = str(Path(__file__).parent / "openapi_shop.yaml")
ORDER = {"customer": "C-042", "lines": [{"sku": "bolt-m8", "quantity": 3}]}


@pytest.fixture(scope="module")
def shared_shop() -> Iterator[tuple[Shop, ServedApp]]:
    shop = Shop()
    with ServedApp(shop_app(shop)) as served:
        yield shop, served


@pytest.fixture
def shop(shared_shop: tuple[Shop, ServedApp]) -> Shop:
    shared_shop[0].reset()
    return shared_shop[0]


@pytest.fixture
def server(shop: Shop, shared_shop: tuple[Shop, ServedApp]) -> ServedApp:
    return shared_shop[1]


async def _tools(server: ServedApp, *allow: str, **config: Any) -> dict[str, BaseTool]:
    settings = OpenAPIConfig.model_validate(
        {"spec": f"{server.url}/openapi.json", "allow": list(allow), "backoff": 0.01, **config}
    )
    env = {"SHOP_TOKEN": BEARER_TOKEN, "SHOP_KEY": API_KEY, "SHOP_PASSWORD": BASIC_PASSWORD}
    return {tool.name: tool for tool in await openapi_tools(settings, env=env)}


def _call(tool: BaseTool, call_id: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": tool.name, "args": args}


async def test_each_allowed_operation_becomes_one_tool_marked_by_its_method(
    server: ServedApp,
) -> None:
    tools = await _tools(server, "get_order", "create_order", "GET /items")

    assert sorted(tools) == ["create_order", "get_order", "list_items"]
    assert "cancel_order" not in tools  # in the document, not allowed
    assert tools["get_order"].metadata == {"effect": "read", "system": "openapi"}
    assert tools["create_order"].metadata == {"effect": "write", "system": "openapi"}
    assert tools["create_order"].tags == ["openapi", "side-effect"]
    assert tools["get_order"].description == "Read one order."
    schema = tools["create_order"].tool_call_schema.model_json_schema()
    assert schema["required"] == ["body"]
    body = schema["$defs"]["NewOrder"]
    assert body["required"] == ["customer", "lines"]
    assert body["properties"]["customer"]["pattern"] == r"^C-\d{3}$"


async def test_nothing_is_allowed_unless_listed(server: ServedApp) -> None:
    assert await _tools(server) == {}


async def test_globs_choose_operations_by_method_and_path(server: ServedApp) -> None:
    tools = await _tools(server, "* /orders/*", "GET /secure/*")

    assert sorted(tools) == [
        "cancel_order",
        "get_order",
        "whoami_basic",
        "whoami_bearer",
        "whoami_header_key",
        "whoami_query_key",
    ]


async def test_an_allow_entry_that_names_nothing_is_a_config_error(server: ServedApp) -> None:
    with pytest.raises(ConfigError, match="allow entry 'create_ordr' matches no operation"):
        await _tools(server, "create_ordr")


async def test_the_hand_written_30_yaml_document_with_refs_drives_the_server(
    server: ServedApp, shop: Shop
) -> None:
    config = OpenAPIConfig(spec=YAML_SPEC, base_url=server.url, allow=["* /orders*"])
    tools = {tool.name: tool for tool in await openapi_tools(config)}
    assert sorted(tools) == ["cancelOrder", "getOrder", "listOrders", "placeOrder"]

    placed = await tools["placeOrder"].ainvoke({"body": {**ORDER, "priority": "high"}})
    read = await tools["getOrder"].ainvoke({"order_id": placed["id"]})
    cancelled = await tools["cancelOrder"].ainvoke({"order_id": placed["id"]})
    listed = await tools["listOrders"].ainvoke({"status": "cancelled", "customer": "C-042"})

    assert read == {**ORDER, "priority": "high", "note": None, "id": 1, "status": "open"}
    assert cancelled == "204 No Content (no content)"
    assert [order["id"] for order in listed] == [1]
    assert "GET /orders?status=cancelled&customer=C-042&limit=10" in shop.query_strings


async def test_a_document_without_an_absolute_server_needs_base_url() -> None:
    with pytest.raises(ConfigError, match="no absolute server URL.*set base_url"):
        await openapi_tools(OpenAPIConfig(spec=YAML_SPEC, allow=["getOrder"]))


async def test_a_recursive_schema_is_accepted_and_sent_whole(server: ServedApp) -> None:
    config = OpenAPIConfig(spec=YAML_SPEC, base_url=server.url, allow=["createCategory"])
    (tool,) = await openapi_tools(config)
    tree = {"name": "tools", "children": [{"name": "saws", "children": [{"name": "band saws"}]}]}

    assert await tool.ainvoke({"body": tree}) == {"stored": tree}
    deep = {"name": "tools", "children": [{"name": "saws", "children": [{"nme": "band"}]}]}
    with pytest.raises(ValidationError, match=r"body\.children\.0\.children\.0\.name\n"):
        await tool.ainvoke({"body": deep})


async def test_mutually_recursive_schemas_are_checked_at_every_depth(tmp_path: Path) -> None:
    schemas = {
        "Team": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "lead": {"$ref": "#/components/schemas/Person"},
            },
        },
        "Person": {
            "type": "object",
            "required": ["email"],
            "properties": {
                "email": {"type": "string", "pattern": "@"},
                "team": {"$ref": "#/components/schemas/Team"},
            },
        },
    }
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Team"}}}}
    document = {
        "openapi": "3.1.0",
        "paths": {"/teams": {"post": {"operationId": "create_team", "requestBody": body}}},
        "components": {"schemas": schemas},
    }
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(document))
    (tool,) = await openapi_tools(
        OpenAPIConfig(spec=str(path), base_url="http://127.0.0.1:9", allow=["create_team"])
    )
    bad = {"name": "a", "lead": {"email": "a@x", "team": {"name": "b", "lead": {"email": "b"}}}}
    with pytest.raises(ValidationError, match=r"body\.lead\.team\.lead\.email\n.*pattern"):
        await tool.ainvoke({"body": bad})


@pytest.mark.parametrize("spec", ["fastapi", "yaml"])
async def test_bad_arguments_are_refused_before_sending_naming_the_argument(
    server: ServedApp, shop: Shop, spec: str
) -> None:
    if spec == "fastapi":
        tools = await _tools(server, "create_order", "list_orders")
        create, listing = tools["create_order"], tools["list_orders"]
    else:
        config = OpenAPIConfig(spec=YAML_SPEC, base_url=server.url, allow=["* /orders"])
        tools = {tool.name: tool for tool in await openapi_tools(config)}
        create, listing = tools["placeOrder"], tools["listOrders"]

    cases: list[tuple[BaseTool, dict[str, Any], str]] = [
        (create, {"body": {**ORDER, "customer": "ACME"}}, r"body\.customer\n.*pattern"),
        (create, {"body": {**ORDER, "lines": []}}, r"body\.lines\n.*at least 1"),
        (
            create,
            {"body": {**ORDER, "lines": [{"sku": "x", "quantity": 0}]}},
            r"body\.lines\.0\.quantity\n.*greater than or equal to 1",
        ),
        (create, {"body": {**ORDER, "colour": "red"}}, r"body\.colour\n.*Extra inputs"),
        (create, {"body": {**ORDER, "priority": "urgent"}}, r"body\.priority\n.*'low'"),
        (create, {}, r"body\n.*Field required"),
        (listing, {"status": "lost"}, r"status\n.*'open' or 'cancelled'"),
        (listing, {"limit": 51}, r"limit\n.*less than or equal to 50"),
        (listing, {"limti": 5}, r"limti\n.*Extra inputs"),
    ]
    for tool, args, message in cases:
        with pytest.raises(ValidationError, match=message):
            await tool.ainvoke(args)
    assert shop.hits["POST /orders"] == 0 and shop.hits["GET /orders"] == 0


async def test_30_exclusive_minimum_is_enforced(server: ServedApp) -> None:
    config = OpenAPIConfig(spec=YAML_SPEC, base_url=server.url, allow=["getOrder"])
    (tool,) = await openapi_tools(config)
    with pytest.raises(ValidationError, match=r"order_id\n.*greater than 0"):
        await tool.ainvoke({"order_id": 0})


@pytest.mark.parametrize(
    ("operation", "auth"),
    [
        ("whoami_bearer", {"type": "bearer", "token_env": "SHOP_TOKEN"}),
        ("whoami_header_key", {"type": "api_key", "name": "X-API-Key", "key_env": "SHOP_KEY"}),
        (
            "whoami_query_key",
            {"type": "api_key", "name": "api_key", "location": "query", "key_env": "SHOP_KEY"},
        ),
        (
            "whoami_basic",
            {"type": "basic", "username": BASIC_USER, "password_env": "SHOP_PASSWORD"},
        ),
    ],
)
async def test_each_auth_kind_is_accepted_by_the_server_and_never_logged(
    server: ServedApp, operation: str, auth: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # httpx's own level too: an in-process `agent-ops` command earlier in the session quiets it.
    caplog.set_level(logging.DEBUG, logger="httpx")
    tool = (await _tools(server, operation, auth=auth))[operation]
    assert (await tool.ainvoke({}))["auth"]

    anonymous = (await _tools(server, operation))[operation]
    with pytest.raises(ConnectorRejected, match="401.*missing or wrong") as refused:
        await anonymous.ainvoke({})
    assert refused.value.status == 401
    for secret in (BEARER_TOKEN, API_KEY, BASIC_PASSWORD):
        assert secret not in caplog.text
    assert "HTTP Request: GET" in caplog.text  # httpx did log the requests, without the key


async def test_a_missing_secret_is_a_config_error_naming_the_variable(server: ServedApp) -> None:
    auth = {"type": "bearer", "token_env": "SHOP_TOKEN_UNSET"}
    with pytest.raises(ConfigError, match="SHOP_TOKEN_UNSET"):
        await _tools(server, "whoami_bearer", auth=auth)


async def test_a_write_carries_an_idempotency_key_and_its_repeat_is_deduplicated(
    server: ServedApp, shop: Shop
) -> None:
    tool = (await _tools(server, "create_order"))["create_order"]
    thread = {"configurable": {"thread_id": "thread-1"}}

    first = await tool.ainvoke(_call(tool, "call-1", {"body": ORDER}), thread)
    again = await tool.ainvoke(_call(tool, "call-2", {"body": ORDER}), thread)
    other_body = await tool.ainvoke({"body": {**ORDER, "note": "second pallet"}}, thread)
    other_thread = await tool.ainvoke({"body": ORDER}, {"configurable": {"thread_id": "t-2"}})

    assert isinstance(first, ToolMessage) and isinstance(again, ToolMessage)
    assert json.loads(first.content)["id"] == json.loads(again.content)["id"] == 1
    assert (other_body["id"], other_thread["id"]) == (2, 3)
    first_key, repeat_key, *others = shop.keys_seen
    assert first_key is not None and first_key.startswith("openapi-")
    assert first_key == repeat_key
    assert len({first_key, *others}) == 3
    assert shop.created == 3


async def test_a_write_outside_any_thread_gets_a_fresh_key_each_time(
    server: ServedApp, shop: Shop
) -> None:
    tool = (await _tools(server, "create_order"))["create_order"]
    await tool.ainvoke({"body": ORDER})
    await tool.ainvoke({"body": ORDER})
    assert len(set(shop.keys_seen)) == 2 and None not in shop.keys_seen
    assert shop.created == 2


async def test_a_write_whose_answer_is_lost_is_not_repeated_and_its_retry_is_deduplicated(
    server: ServedApp, shop: Shop
) -> None:
    tool = (await _tools(server, "create_order", timeout=0.3))["create_order"]
    config = {"configurable": {"thread_id": "thread-7"}}
    shop.slow_answers = [1.0]  # the order is made, the answer arrives after the client gave up

    with pytest.raises(ConnectorUnavailable, match="outcome is unknown") as lost:
        await tool.ainvoke(_call(tool, "call-9", {"body": ORDER}), config)
    assert "ReadTimeout" in str(lost.value)
    assert shop.hits["POST /orders"] == 1 and shop.created == 1

    retried = await tool.ainvoke(_call(tool, "call-9", {"body": ORDER}), config)

    assert json.loads(retried.content)["id"] == 1
    assert shop.created == 1 and len(set(shop.keys_seen)) == 1


async def test_a_read_after_503_is_retried_honouring_retry_after(
    server: ServedApp, shop: Shop
) -> None:
    tool = (await _tools(server, "get_report"))["get_report"]
    shop.fail("GET /report", 503, retry_after="1")

    started = time.monotonic()
    assert await tool.ainvoke({}) == "orders: 0"
    assert time.monotonic() - started >= 0.9
    assert shop.hits["GET /report"] == 2


async def test_a_read_that_keeps_failing_ends_unavailable_after_its_attempts(
    server: ServedApp, shop: Shop
) -> None:
    tool = (await _tools(server, "get_report"))["get_report"]
    shop.fail("GET /report", 502, times=3)

    with pytest.raises(ConnectorUnavailable, match="did not answer GET .*after 3 tries: 502"):
        await tool.ainvoke({})
    assert shop.hits["GET /report"] == 3


async def test_a_write_after_503_is_not_retried(server: ServedApp, shop: Shop) -> None:
    tool = (await _tools(server, "create_order"))["create_order"]
    shop.fail("POST /orders", 503, retry_after="0")

    with pytest.raises(ConnectorUnavailable, match="503.*busy, try later.*not repeated"):
        await tool.ainvoke({"body": ORDER})
    assert shop.hits["POST /orders"] == 1 and shop.created == 0


async def test_a_client_error_is_rejected_with_the_servers_message(server: ServedApp) -> None:
    tool = (await _tools(server, "get_order"))["get_order"]
    with pytest.raises(ConnectorRejected, match=r"GET http://.*/orders/99 \(404\)") as refused:
        await tool.ainvoke({"order_id": 99})
    assert "order 99 does not exist" in str(refused.value) and refused.value.status == 404


async def test_a_server_error_is_a_connector_error_with_its_message(
    server: ServedApp, shop: Shop
) -> None:
    tool = (await _tools(server, "get_boom"))["get_boom"]
    with pytest.raises(ConnectorError, match=r"\(500\): the ledger is locked") as failed:
        await tool.ainvoke({})
    assert not isinstance(failed.value, ConnectorRejected | ConnectorUnavailable)
    assert shop.hits["GET /boom"] == 1  # a 500 is the server's answer, not a transient failure


async def test_a_large_json_answer_is_cut_with_a_note(server: ServedApp) -> None:
    tool = (await _tools(server, "get_big", max_response_chars=2000))["get_big"]
    answer = await tool.ainvoke({})

    assert answer["truncated"] is True
    assert "over the cap of 2000" in answer["note"]
    assert answer["items"][0] == {"n": 0, "padding": "x" * 40}
    assert len(json.dumps(answer["items"])) <= 2000 and len(answer["items"]) > 10


async def test_an_unreachable_server_is_unavailable_for_reads_and_writes(
    server: ServedApp,
) -> None:
    tools = await _tools(
        server, "get_order", "create_order", base_url=f"http://127.0.0.1:{closed_port()}"
    )
    with pytest.raises(ConnectorUnavailable, match="could not be reached for GET.*3 tries"):
        await tools["get_order"].ainvoke({"order_id": 1})
    # refused connections never left: a write may be repeated, and was
    with pytest.raises(ConnectorUnavailable, match="could not be reached for POST.*3 tries"):
        await tools["create_order"].ainvoke({"body": ORDER})


PAGINATION = {
    "list_items": {"style": "page", "size_param": "per_page", "size": 5, "items": "data"},
    "list_events": {"style": "offset", "limit": 5},
    "list_logs": {"style": "cursor", "items": "result.entries", "next_field": "result.next"},
    "list_things": {"style": "link"},
}


@pytest.mark.parametrize("operation", sorted(PAGINATION))
async def test_every_pagination_style_collects_all_pages(
    server: ServedApp, shop: Shop, operation: str
) -> None:
    tools = await _tools(server, operation, pagination={operation: PAGINATION[operation]})
    answer = await tools[operation].ainvoke({})

    kind = operation.removeprefix("list_").removesuffix("s")
    assert [item["id"] for item in answer["items"]] == [f"{kind}-{n}" for n in range(TOTAL)]
    assert answer["truncated"] is False
    assert answer["pages"] == shop.hits[f"GET /{kind}s"] >= 5


@pytest.mark.parametrize("operation", sorted(PAGINATION))
async def test_pagination_stops_at_its_limits_and_says_truncated(
    server: ServedApp, operation: str
) -> None:
    by_items = {operation: {**PAGINATION[operation], "max_items": 7}}
    tool = (await _tools(server, operation, pagination=by_items))[operation]
    answer = await tool.ainvoke({})
    assert (len(answer["items"]), answer["truncated"], answer["pages"]) == (7, True, 2)

    by_pages = {operation: {**PAGINATION[operation], "max_pages": 3}}
    tool = (await _tools(server, operation, pagination=by_pages))[operation]
    answer = await tool.ainvoke({})
    assert (len(answer["items"]), answer["truncated"], answer["pages"]) == (15, True, 3)


async def test_pagination_of_an_operation_not_allowed_is_a_config_error(
    server: ServedApp,
) -> None:
    with pytest.raises(ConfigError, match="pagination for 'list_items'"):
        await _tools(server, "list_events", pagination={"list_items": PAGINATION["list_items"]})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"swagger": "2.0", "paths": {}}, "swagger 2.0; only OpenAPI 3.0 and 3.1"),
        (
            {
                "openapi": "3.0.3",
                "paths": {"/a": {"get": {"parameters": [{"$ref": "other.yaml#/P"}]}}},
            },
            "points outside the document",
        ),
        (
            {
                "openapi": "3.1.0",
                "paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/A"}]}}},
                "components": {"parameters": {"A": {"$ref": "#/components/parameters/A"}}},
            },
            "\\$ref loop",
        ),
    ],
)
async def test_unusable_documents_are_config_errors(
    tmp_path: Path, document: dict[str, Any], message: str
) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=message):
        await openapi_tools(OpenAPIConfig(spec=str(path), base_url="http://x", allow=["* /*"]))
