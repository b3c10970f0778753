"""The graph: receive -> extract -> check -> (ask -> review) -> book -> post -> pay -> ledger ->
notify. `ask` mails the policy's reviewers; `review` is the pause they answer. A booking whose
ERP totals differ from the document goes back to a person instead of to post."""

from __future__ import annotations

from collections.abc import Callable

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


def _by_status(otherwise: str, **nodes: str) -> tuple[Callable[[InvoiceState], str], list[str]]:
    """A router on the run's status (`nodes` by status, `otherwise` for the rest) and its targets."""

    def route(state: InvoiceState) -> str:
        return nodes.get(state.get("status") or "", otherwise)

    return route, [*dict.fromkeys([*nodes.values(), otherwise])]


_AFTER_CHECK = _by_status("ask", approved="book", duplicate="notify")
_AFTER_BOOK = _by_status("ask", booked="post")
# An edited review goes through check again, with the corrected fields.
_AFTER_REVIEW = _by_status("check", approved="book", rejected="notify")


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
    builder.add_conditional_edges("check", *_AFTER_CHECK)
    builder.add_edge("ask", "review")
    builder.add_conditional_edges("review", *_AFTER_REVIEW)
    builder.add_conditional_edges("book", *_AFTER_BOOK)
    builder.add_edge("post", "pay")
    builder.add_edge("pay", "ledger")
    builder.add_edge("ledger", "notify")
    builder.add_edge("notify", END)
    return builder


graph = build().compile()
