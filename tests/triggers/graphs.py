"""The graph triggers start in these tests: it keeps every input it was given, so a test reads
from the thread's state which events fed it."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import START, StateGraph


class Collected(TypedDict, total=False):
    payload: Any
    trigger: Any
    invoice: Any
    seen: Annotated[list[Any], operator.add]


def collect(state: Collected) -> dict[str, Any]:
    return {"seen": [state.get("invoice", state.get("payload"))]}


_collector = StateGraph(Collected)
_collector.add_node("collect", collect)
_collector.add_edge(START, "collect")
collector = _collector.compile()
