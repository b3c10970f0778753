"""agent-ops core: the vocabulary, errors and settings every package shares.

Subpackages, each one concept: `storage/` (SQLite and PostgreSQL behind one protocol), `runtime/`
(the one door: runs, threads, assistants, crons, store items, triggers, workers), `models/`
(roles -> providers, prompts, the decision log), `observability/` (logs, metrics); plus
`settings.py`, `deps.py` (what graphs get per run: `Deps`, `deps_for`) and `cli.py`, the
composition root. `agent_ops` imports none of `server`, `graphs`,
`tools` or `evals` (only the CLI wires them in). This top level exports the light names other
packages may use anywhere; the runtime's surface is `agent_ops.runtime`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent_ops import types
from agent_ops.errors import (
    AgentOpsError,
    BadRequest,
    ConfigError,
    Conflict,
    ConnectorError,
    ConnectorRejected,
    ConnectorUnavailable,
    Forbidden,
    InvalidInput,
    ModelUnavailable,
    NotFound,
    StorageError,
    validation_text,
)
from agent_ops.types import *  # noqa: F403 (its __all__: the API's vocabulary)
from agent_ops.values import MAX_INT, StorableBody, check_storable

if TYPE_CHECKING:
    from agent_ops.deps import Deps, deps_for
    from agent_ops.settings import DatabaseUrl, Settings

__all__ = [
    *types.__all__,
    "MAX_INT",
    "AgentOpsError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "ConnectorError",
    "ConnectorRejected",
    "ConnectorUnavailable",
    "DatabaseUrl",
    "Deps",
    "Forbidden",
    "InvalidInput",
    "ModelUnavailable",
    "NotFound",
    "Settings",
    "StorageError",
    "StorableBody",
    "check_storable",
    "deps_for",
    "validation_text",
]


def __getattr__(name: str) -> Any:
    # The settings pull in pydantic-settings (most of a second at start-up); graphs and tools
    # that import an error class must not pay for it, so they load on first use.
    if name in ("DatabaseUrl", "Settings"):
        from agent_ops import settings

        return getattr(settings, name)
    if name in ("Deps", "deps_for"):
        from agent_ops import deps

        return getattr(deps, name)
    raise AttributeError(f"module 'agent_ops' has no attribute {name!r}")
