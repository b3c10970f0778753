"""The connectors config (`AGENT_OPS_CONNECTORS_CONFIG`, YAML): business systems and triggers.

`agent-ops serve` and `worker` read it once at start-up into a `Connectors` (the parsed config
and the MCP sessions kept between runs), hand it to the runtime in its `Deps`, and the runtime
closes it at shutdown. Graphs reach it per run: `connectors_for(config)`.

```yaml
tryton: {url: http://erp:8000/, database: prod, api_key: ..., company: 1}
sql:                   # name -> tools.sql.SQLConfig
  warehouse: {url: postgresql://..., queries: {...}}
openapi:               # name -> tools.openapi.OpenAPIConfig
  shop: {spec: https://shop.example.com/openapi.json, allow: [get_order]}
mcp: {servers: {...}}  # tools.mcp.MCPConfig
mail:
  imap: {host: imap.example.com, user: invoices@example.com, password: ..., poll_seconds: 30}
  smtp: {host: smtp.example.com, sender: invoices@example.com, user: ..., password: ...}
folders:
  scans: {path: /srv/scans, poll_seconds: 5}
triggers:              # source -> assistant id (or graph id) that each item runs
  mail: invoice_approval
  folder:scans:        # or with the run config its items start with
    assistant: invoice_approval
    config: {configurable: {invoice_policy: {reviewers: [ap@example.com]}}}
```
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from agent_ops.deps import deps_for
from agent_ops.errors import ConfigError, checked_config
from agent_ops.runtime import IntakeSource, Trigger
from tools.folder import FolderSettings, FolderWatcher
from tools.mail import MailPoller, MailSettings
from tools.mcp import MCPConfig, MCPSessions, close_mcp_sessions
from tools.openapi import OpenAPIConfig
from tools.sql import SQLConfig
from tools.tryton import TrytonSettings

log = logging.getLogger(__name__)
SECTIONS = ("tryton", "sql", "openapi", "mcp", "mail", "folders", "triggers")


class TriggerTarget(BaseModel):
    """What a trigger's items run: an assistant (or graph id) and the run config they start
    with, merged over the assistant's as a run's own config is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assistant: str = Field(min_length=1)
    config: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _plain_name(cls, value: Any) -> Any:
        return {"assistant": value} if isinstance(value, str) else value

    @field_validator("config")
    @classmethod
    def _configurable_is_a_mapping(cls, config: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(config.get("configurable", {}), dict):
            raise ValueError("config.configurable must be a mapping")
        return config


class ConnectorsConfig(BaseModel):
    """Every connector section; unknown sections are refused by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tryton: TrytonSettings | None = None
    sql: dict[str, SQLConfig] = {}
    openapi: dict[str, OpenAPIConfig] = {}
    mcp: MCPConfig | None = None
    mail: MailSettings | None = None
    folders: dict[str, FolderSettings] = {}
    triggers: dict[str, TriggerTarget] = {}

    @field_validator("folders")
    @classmethod
    def _folder_names(cls, folders: dict[str, FolderSettings]) -> dict[str, FolderSettings]:
        for name in folders:
            if not name or ":" in name or "/" in name:
                raise ValueError(f"folder name {name!r} must be non-empty, without ':' or '/'")
        return folders

    @model_validator(mode="after")
    def _triggers_name_sources(self) -> ConnectorsConfig:
        known = self.source_names()
        for source in self.triggers:
            if source not in known:
                raise ValueError(
                    f"trigger source {source!r} is not configured; configured sources: "
                    f"{', '.join(known) or 'none'}"
                )
        return self

    def source_names(self) -> list[str]:
        names = ["mail"] if self.mail is not None and self.mail.imap is not None else []
        return names + [f"folder:{name}" for name in self.folders]

    def sources(self) -> dict[str, IntakeSource]:
        """Every configured intake source by name."""
        found: dict[str, IntakeSource] = {}
        if self.mail is not None and self.mail.imap is not None:
            found["mail"] = MailPoller(self.mail.imap)
        for name, folder in self.folders.items():
            found[f"folder:{name}"] = FolderWatcher(name, folder)
        return found

    def build_triggers(self) -> list[Trigger]:
        """The triggers to run: each configured source with the assistant its items start.

        Logs one warning per trigger of the invoice workflow that names no reviewers: its
        invoices would wait for a person without anybody being mailed."""
        sources = self.sources()
        for name, target in self.triggers.items():
            if target.assistant == INVOICE_GRAPH and not _reviewers(target.config):
                log.warning(
                    "trigger %s runs %s without reviewers: invoices that wait for a person are "
                    "mailed to nobody; set triggers.%s.config.configurable.invoice_policy."
                    "reviewers in the connectors config",
                    name,
                    INVOICE_GRAPH,
                    name,
                )
        return [
            Trigger(sources[name], target.assistant, target.config or None)
            for name, target in self.triggers.items()
        ]


INVOICE_GRAPH = "invoice_approval"  # the shipped graph whose reviewers are set per trigger


def _reviewers(config: dict[str, Any]) -> list[Any]:
    policy = (config.get("configurable") or {}).get("invoice_policy") or {}
    reviewers = policy.get("reviewers") if isinstance(policy, dict) else None
    return reviewers if isinstance(reviewers, list) else []


def read_yaml(path: Path, what: str, error: Callable[[str], Exception] = ConfigError) -> Any:
    """The YAML document in `path`; a file that cannot be read or parsed is `error`, naming
    `what` the file is and the path."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{what} {path}: cannot read it: {exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{what} {path}: not valid YAML: {exc}") from exc


def load_connectors_config(path: Path) -> ConnectorsConfig:
    """Read and check the config file; any problem is a ConfigError naming the file and field."""
    raw = read_yaml(path, "connectors config")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"connectors config {path}: must be a mapping of sections")
    unknown = [key for key in raw if key not in SECTIONS]
    if unknown:
        raise ConfigError(
            f"connectors config {path}: unknown section {unknown[0]!r}; "
            f"known sections: {', '.join(SECTIONS)}"
        )
    return checked_config(ConnectorsConfig, raw, f"connectors config {path}", top="(top)")


@dataclass(frozen=True)
class Connectors:
    """What graphs reach business systems through: the connectors config, read once at
    start-up, and the sessions to MCP servers kept between runs (closed by `aclose`)."""

    config: ConnectorsConfig = field(default_factory=ConnectorsConfig)
    mcp_sessions: MCPSessions = field(default_factory=MCPSessions, compare=False)

    @classmethod
    def load(cls, path: Path | None) -> Connectors:
        """Read the config file (None: no connectors); a ConfigError names what is wrong."""
        return cls(ConnectorsConfig() if path is None else load_connectors_config(path))

    async def mcp_tools(self) -> list[BaseTool]:
        """The allowed tools of the configured MCP servers, over the kept sessions."""
        if self.config.mcp is None:
            raise ConfigError("the connectors config has no `mcp` section")
        from tools.mcp import mcp_tools  # loads mcp on first use (tools/mcp/__init__.py)

        return await mcp_tools(self.config.mcp, self.mcp_sessions)

    async def aclose(self) -> None:
        """Close the kept MCP sessions (stdio servers exit), and the event loop's shared ones
        that a graph calling `mcp_tools(config)` without sessions of its own opened."""
        if count := len(self.mcp_sessions):
            await self.mcp_sessions.aclose()
            log.info("closed the kept sessions to %d MCP servers", count)
        await close_mcp_sessions()


def connectors_for(config: RunnableConfig | None = None) -> Connectors:
    """The connectors of the run `config` belongs to (None: the running node's), from its deps;
    a ConfigError saying how to provide them when the run has none."""
    given = deps_for(config).need("connectors")
    if not isinstance(given, Connectors):
        raise ConfigError(
            f"this run's connectors are a {type(given).__name__}, not tools.config.Connectors"
        )
    return given
