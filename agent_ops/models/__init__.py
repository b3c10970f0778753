"""The AI reasoning layer: roles mapped to providers, versioned prompts, the decision log, and the
embedded offline router (all-MiniLM-L6-v2 over numpy) with its evaluation.

models = deps_for(config).need_models()  # agent_ops.deps: what a run gets
answer = await models.role("respond").ainvoke([("user", "Where is my invoice?")])
"""

from __future__ import annotations

from agent_ops.models._route_eval import (
    LabelledText,
    RouteEvaluation,
    evaluate_router,
    examples_by_label,
    read_labelled_csv,
)
from agent_ops.models.config import (
    ModelsConfig,
    ProviderOptions,
    RoleConfig,
    load_models_config,
    parse_spec,
)
from agent_ops.models.decisions import DecisionSink, MemoryDecisions
from agent_ops.models.hub import Models
from agent_ops.models.local import LocalModelServer, default_model_path
from agent_ops.models.prompts import Prompt, PromptLibrary
from agent_ops.models.providers import Ask, Call, Provider, Rule
from agent_ops.models.redact import PII_KINDS, PiiKind, Redaction
from agent_ops.models.replay import REPLAY_MODES, ReplayCache, ReplayMode
from agent_ops.models.roles import RoleModel, StructuredRole
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
    "PII_KINDS",
    "REPLAY_MODES",
    "UNKNOWN",
    "Ask",
    "Call",
    "DecisionSink",
    "LabelledText",
    "LocalModelServer",
    "MemoryDecisions",
    "PiiKind",
    "Models",
    "ModelsConfig",
    "Prompt",
    "PromptLibrary",
    "Provider",
    "ProviderOptions",
    "ReplayCache",
    "ReplayMode",
    "RoleConfig",
    "RoleModel",
    "Redaction",
    "RouteDecision",
    "RouteEvaluation",
    "RouteScore",
    "Router",
    "RouterConfig",
    "Rule",
    "StructuredRole",
    "default_model_path",
    "evaluate_router",
    "examples_by_label",
    "load_models_config",
    "parse_spec",
    "read_labelled_csv",
]
