"""An OpenAPI tool in a LangGraph graph: a scripted chat model calls it through a ToolNode.

The first order's answer is lost (the shop answers after the client's timeout); the ToolNode
hands the error to the model, which calls the tool again. The repeat carries the same
idempotency key, so the shop makes one order, not two.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver

from tests.models.fakes import scripted_chat
from tests.tools.openapi_shop import ServedApp, Shop, shop_app
from tests.tools.tool_agent import tool_agent, tool_call
from tools.openapi import OpenAPIConfig, openapi_tools

ORDER = {"customer": "C-042", "lines": [{"sku": "bolt-m8", "quantity": 3}]}


def _order_call(call_id: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [tool_call(call_id, "create_order", {"body": ORDER})],
    }


async def test_a_graph_places_one_order_through_a_tool_node_despite_a_lost_answer() -> None:
    shop = Shop(slow_answers=[1.0])
    with ServedApp(shop_app(shop)) as server:
        config = OpenAPIConfig(
            spec=f"{server.url}/openapi.json", allow=["create_order"], timeout=0.3
        )
        tools = await openapi_tools(config)
        script = [_order_call("call_a"), _order_call("call_b"), "Order 1 is placed."]
        with scripted_chat(script) as chat:
            model = ChatOpenAI(base_url=chat.url, api_key="test", model="fake", max_retries=0)
            bound = model.bind_tools(tools)
            graph = tool_agent(bound, tools).compile(checkpointer=InMemorySaver())

            result = await graph.ainvoke(
                {"messages": [HumanMessage("Order 3 M8 bolts for customer C-042.")]},
                {"configurable": {"thread_id": "thread-graph"}},
            )

        offered = chat.requests[0]["tools"][0]["function"]
        assert offered["name"] == "create_order"
        assert offered["parameters"]["required"] == ["body"]

    lost, placed = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert lost.status == "error" and "outcome is unknown" in str(lost.content)
    assert json.loads(str(placed.content))["id"] == 1
    assert isinstance(result["messages"][-1], AIMessage)
    assert result["messages"][-1].content == "Order 1 is placed."
    assert shop.created == 1 and shop.hits["POST /orders"] == 2
    assert len(set(shop.keys_seen)) == 1
