"""The AI reasoning layer: roles mapped to providers, versioned prompts and the decision log.

from agent_ops.models import models
answer = await models().role("respond").ainvoke([("user", "Where is my invoice?")])
"""

from __future__ import annotations

from agent_ops.models.config import (
    ModelsConfig,
    ProviderOptions,
    RoleConfig,
    load_models_config,
    parse_spec,
)
from agent_ops.models.decisions import DecisionSink, MemoryDecisions
from agent_ops.models.hub import Models, install, models
from agent_ops.models.local import LocalModelServer, default_model_path
from agent_ops.models.prompts import Prompt, PromptLibrary
from agent_ops.models.providers import Provider, Rule
from agent_ops.models.roles import RoleModel, StructuredRole

__all__ = [
    "DecisionSink",
    "LocalModelServer",
    "MemoryDecisions",
    "Models",
    "ModelsConfig",
    "Prompt",
    "PromptLibrary",
    "Provider",
    "ProviderOptions",
    "RoleConfig",
    "RoleModel",
    "Rule",
    "StructuredRole",
    "default_model_path",
    "install",
    "load_models_config",
    "models",
    "parse_spec",
]
