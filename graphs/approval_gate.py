"""A human approval gate: requests within policy pass automatically, the rest wait for a person.

The pause uses the human-in-the-loop format agent-inbox understands (an `action_request` with
the allowed responses); resume with `{"type": "accept" | "edit" | "ignore" | "response",
"args": ...}` (or a list holding one). Every decision and its reason is kept in the state.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

DEFAULT_AUTO_APPROVE_LIMIT = 1000.0


class Decision(TypedDict):
    step: str
    outcome: Literal["approved", "rejected", "needs_review", "edited"]
    reason: str
    by: str


class GateState(TypedDict, total=False):
    request: dict[str, Any]
    status: Literal["pending", "approved", "rejected"]
    decisions: Annotated[list[Decision], operator.add]


def _limit(config: RunnableConfig) -> float:
    configurable = config.get("configurable") or {}
    return float(configurable.get("auto_approve_limit", DEFAULT_AUTO_APPROVE_LIMIT))


def check_policy(state: GateState, config: RunnableConfig) -> dict[str, Any]:
    """Approve requests at or under the limit; send the rest to a person."""
    request = state.get("request") or {}
    amount = request.get("amount")
    if not isinstance(amount, int | float) or amount < 0:
        reason = f"amount {amount!r} is missing or not a non-negative number"
        return {
            "status": "pending",
            "decisions": [
                Decision(step="policy", outcome="needs_review", reason=reason, by="rules")
            ],
        }
    limit = _limit(config)
    if amount <= limit:
        reason = f"amount {amount} is within the auto-approval limit {limit}"
        return {
            "status": "approved",
            "decisions": [Decision(step="policy", outcome="approved", reason=reason, by="rules")],
        }
    reason = f"amount {amount} exceeds the auto-approval limit {limit}"
    return {
        "status": "pending",
        "decisions": [Decision(step="policy", outcome="needs_review", reason=reason, by="rules")],
    }


def _invalid(answer: Any) -> str | None:
    if isinstance(answer, dict) and answer.get("type") in ("accept", "edit", "ignore", "response"):
        return None
    return (
        "resume value must be {'type': 'accept'|'edit'|'ignore'|'response', 'args': ...}, "
        f"got {answer!r}"
    )


def human_review(state: GateState) -> dict[str, Any]:
    """Pause for a person; apply their accept, edit, ignore (reject) or free-text response.

    An answer of the wrong shape does not fail the run: the request waits again, with the
    problem named in the new pause, so nothing is lost.
    """
    request = state.get("request") or {}
    description = state["decisions"][-1]["reason"] + ". Approve, edit or reject."
    problem: str | None = None
    while True:
        pause = {
            "action_request": {"action": "approve_request", "args": request},
            "config": {
                "allow_accept": True,
                "allow_edit": True,
                "allow_ignore": True,
                "allow_respond": True,
            },
            "description": description if problem is None else f"{problem}. {description}",
        }
        answer = interrupt([pause])
        if isinstance(answer, list) and answer:
            answer = answer[0]
        problem = _invalid(answer)
        if problem is None:
            break
    kind = answer["type"]
    reviewer = str(answer.get("by") or "reviewer")
    if kind == "accept":
        return {
            "status": "approved",
            "decisions": [
                Decision(
                    step="review", outcome="approved", reason="approved by a person", by=reviewer
                )
            ],
        }
    if kind == "edit":
        edited = (answer.get("args") or {}).get("args", answer.get("args")) or {}
        return {
            "request": {**request, **edited},
            "status": "pending",
            "decisions": [
                Decision(
                    step="review",
                    outcome="edited",
                    reason=f"edited fields {sorted(edited)}",
                    by=reviewer,
                )
            ],
        }
    reason = str(answer.get("args") or "rejected by a person")
    return {
        "status": "rejected",
        "decisions": [Decision(step="review", outcome="rejected", reason=reason, by=reviewer)],
    }


def _after_policy(state: GateState) -> str:
    return END if state.get("status") == "approved" else "human_review"


def _after_review(state: GateState) -> str:
    return "check_policy" if state.get("status") == "pending" else END


builder = StateGraph(GateState)
builder.add_node("check_policy", check_policy)
builder.add_node("human_review", human_review)
builder.add_edge(START, "check_policy")
builder.add_conditional_edges("check_policy", _after_policy, ["human_review", END])
builder.add_conditional_edges("human_review", _after_review, ["check_policy", END])
graph = builder.compile()
