"""The business systems the invoice workflow talks to, read once per process from config.

`AGENT_OPS_CONNECTORS_CONFIG` names a YAML file whose `tryton` section holds `TrytonSettings`
(url, database, api_key, company). Tests and embedders may `use(...)` their own instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent_ops.errors import ConfigError
from tools.tryton import TrytonClient, TrytonERP, TrytonSettings

# (to, subject, body, idempotency key) -> what was sent, for the run's state
Notifier = Callable[[str, str, str, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Connections:
    tryton: TrytonSettings
    notify: Notifier | None = None


_chosen: Connections | None = None
_loaded: tuple[Path, float, Connections] | None = None


def use(connections: Connections | None) -> None:
    """Use these connections in this process (None: back to the config file)."""
    global _chosen
    _chosen = connections


def _from_file(path: Path) -> Connections:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"connectors config {path}: {exc}") from exc
    if not isinstance(raw, dict) or "tryton" not in raw:
        raise ConfigError(f"connectors config {path} has no `tryton` section")
    try:
        tryton = TrytonSettings.model_validate(raw["tryton"])
    except ValidationError as exc:
        raise ConfigError(f"connectors config {path}, section tryton: {exc}") from exc
    return Connections(tryton=tryton)


def connections() -> Connections:
    """The chosen connections, else those of the config file (re-read when it changes)."""
    global _loaded
    if _chosen is not None:
        return _chosen
    name = os.environ.get("AGENT_OPS_CONNECTORS_CONFIG")
    if not name:
        raise ConfigError(
            "the invoice workflow needs an ERP: set AGENT_OPS_CONNECTORS_CONFIG to a YAML file "
            "with a `tryton` section"
        )
    path = Path(name)
    mtime = path.stat().st_mtime if path.exists() else -1.0
    if _loaded is None or _loaded[:2] != (path, mtime):
        _loaded = (path, mtime, _from_file(path))
    return _loaded[2]


@asynccontextmanager
async def erp() -> AsyncIterator[TrytonERP]:
    """A Tryton client for one step; closed when the step ends."""
    async with TrytonClient(connections().tryton) as client:
        yield TrytonERP(client)
