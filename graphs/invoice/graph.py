"""The graph: receive -> extract -> check -> (ask -> review) -> book -> post -> pay -> ledger ->
notify. `ask` mails the policy's reviewers; `review` is the pause they answer. A booking whose
ERP totals differ from the document goes back to a person instead of to post."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from agent_ops.errors import ConnectorUnavailable
from graphs.invoice._booking import book, ledger, notify, pay, post
from graphs.invoice._state import InvoiceState
from graphs.invoice._steps import ask, check, extract, receive, review

# The ERP briefly unreachable: try the step again a few times before the run fails with the reason.
ERP_RETRY = RetryPolicy(
    initial_interval=1.0, backoff_factor=2.0, max_attempts=3, retry_on=ConnectorUnavailable
)


def _after_receive(state: InvoiceState) -> str:
    return "check" if state.get("invoice") is not None else "extract"


def _after_check(state: InvoiceState) -> str:
    status = state.get("status")
    if status == "approved":
        return "book"
    if status == "duplicate":
        return "notify"
    return "ask"


def _after_book(state: InvoiceState) -> str:
    return "post" if state.get("status") == "booked" else "ask"


def _after_review(state: InvoiceState) -> str:
    status = state.get("status")
    if status == "approved":
        return "book"
    if status == "rejected":
        return "notify"
    return "check"  # edited: check the corrected fields again


def build() -> StateGraph[InvoiceState]:
    builder = StateGraph(InvoiceState)
    builder.add_node("receive", receive)
    builder.add_node("extract", extract)
    builder.add_node("check", check, retry_policy=ERP_RETRY)
    builder.add_node("ask", ask)
    builder.add_node("review", review)
    builder.add_node("book", book, retry_policy=ERP_RETRY)
    builder.add_node("post", post, retry_policy=ERP_RETRY)
    builder.add_node("pay", pay, retry_policy=ERP_RETRY)
    builder.add_node("ledger", ledger, retry_policy=ERP_RETRY)
    builder.add_node("notify", notify)
    builder.add_edge(START, "receive")
    builder.add_conditional_edges("receive", _after_receive, ["extract", "check"])
    builder.add_edge("extract", "check")
    builder.add_conditional_edges("check", _after_check, ["book", "notify", "ask"])
    builder.add_edge("ask", "review")
    builder.add_conditional_edges("review", _after_review, ["book", "notify", "check"])
    builder.add_conditional_edges("book", _after_book, ["post", "ask"])
    builder.add_edge("post", "pay")
    builder.add_edge("pay", "ledger")
    builder.add_edge("ledger", "notify")
    builder.add_edge("notify", END)
    return builder


graph = build().compile()
