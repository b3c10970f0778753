"""Models: the embedded offline router (all-MiniLM-L6-v2 over numpy) and its evaluation."""

from agent_ops.models._route_eval import (
    LabelledText,
    RouteEvaluation,
    evaluate_router,
    examples_by_label,
    read_labelled_csv,
)
from agent_ops.models.router import (
    DEFAULT_UNKNOWN_THRESHOLD,
    UNKNOWN,
    RouteDecision,
    Router,
    RouterConfig,
    RouteScore,
)

__all__ = [
    "DEFAULT_UNKNOWN_THRESHOLD",
    "UNKNOWN",
    "LabelledText",
    "RouteDecision",
    "RouteEvaluation",
    "RouteScore",
    "Router",
    "RouterConfig",
    "evaluate_router",
    "examples_by_label",
    "read_labelled_csv",
]
