"""A graph's schemas are drawn one by one: one that cannot be drawn is None, not an error."""

from __future__ import annotations

from typing import TypedDict

from langgraph.graph import START, StateGraph

from agent_ops.runtime.assistants import graph_schemas


class Inner(TypedDict):
    text: str


class Outer(TypedDict):
    inner: Inner  # a `typing.TypedDict` inside one: pydantic refuses it on Python 3.11


def keep(state: Outer) -> dict[str, str]:
    return {}


def test_a_schema_that_cannot_be_drawn_is_none_and_the_others_still_come() -> None:
    compiled = StateGraph(Outer).add_node("keep", keep).add_edge(START, "keep").compile()
    schemas = graph_schemas(compiled)
    assert schemas["input_schema"] is None
    assert schemas["output_schema"] is None
    # the state schema stands Any in for a channel type it cannot draw
    assert schemas["state_schema"] == {
        "properties": {"inner": {"default": None, "title": "Inner"}},
        "title": "LangGraphState",
        "type": "object",
    }
    assert schemas["config_schema"] == {}
    assert schemas["context_schema"] is None
