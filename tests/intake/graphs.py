"""A graph that reads its intake payload back and reports what it was given."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import START, StateGraph

from tools.intake import IntakePayload


class State(TypedDict, total=False):
    intake: dict[str, Any]
    report: dict[str, Any]


def read(state: State) -> dict[str, Any]:
    payload = IntakePayload.model_validate(state["intake"])
    return {
        "report": {
            "kind": payload.kind,
            "sender": payload.sender,
            "subject": payload.subject,
            "body": payload.body,
            "documents": [
                {"filename": d.filename, "media_type": d.media_type, "size": len(d.data())}
                for d in payload.documents
            ],
        }
    }


_graph = StateGraph(State)
_graph.add_node("read", read)
_graph.add_edge(START, "read")
intake_report = _graph.compile()
