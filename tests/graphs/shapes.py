"""Graphs whose shapes the API's answers depend on: an interrupt inside a subgraph, an
interrupt that says what answer it expects (`response_schema`), and a context schema with
defaults."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt


class Items(TypedDict):
    items: Annotated[list[str], operator.add]


def _append(name: str) -> Any:
    def node(state: Items) -> dict[str, Any]:
        return {"items": [name]}

    return node


def _ask(state: Items) -> dict[str, Any]:
    return {"items": [f"answer:{interrupt({'question': 'go on?', 'items': state['items']})}"]}


def _graph(*nodes: tuple[str, Any]) -> Any:
    graph = StateGraph(Items)
    previous = START
    for name, node in nodes:
        graph.add_node(name, node)
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph.compile()


# parent_first -> child (sub_a -> sub_ask, which pauses) -> parent_last
subgraph_ask = _graph(
    ("parent_first", _append("parent_first")),
    ("child", _graph(("sub_a", _append("sub_a")), ("sub_ask", _ask))),
    ("parent_last", _append("parent_last")),
)

DECISION_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}}


def _decide(state: Items) -> dict[str, Any]:
    answer = interrupt({"question": "pay?"}, response_schema=DECISION_SCHEMA)
    return {"items": [f"ok={answer['ok']}"]}


decide = _graph(("decide", _decide), ("after", _append("after")))


@dataclass
class Tone:
    user: str = "nobody"
    tone: str = "plain"


def _greet(state: Items, runtime: Runtime[Tone]) -> dict[str, Any]:
    return {"items": [f"{runtime.context.tone}:{runtime.context.user}"]}


_greeting = StateGraph(Items, context_schema=Tone)
_greeting.add_node("greet", _greet)
_greeting.add_edge(START, "greet")
greet = _greeting.compile()


class Question(TypedDict):
    question: str


class Answer(TypedDict):
    answer: str


class Worked(Question, Answer):
    scratch: str


def _answer(state: Worked) -> dict[str, Any]:
    return {"answer": state["question"].upper(), "scratch": "worked"}


_answering = StateGraph(Worked, input_schema=Question, output_schema=Answer)
_answering.add_node("answer", _answer)
_answering.add_edge(START, "answer")
answer_only = _answering.compile()
