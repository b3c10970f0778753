"""The models config: which provider answers each role, and how hard to try before giving up.

Loaded from a YAML, JSON or TOML file (`AGENT_OPS_MODELS_CONFIG`); without one every role goes to
the embedded SmolLM2 model, so nothing needs a key to start. Provider specs read `kind:name`:

- `openai:<model>`  any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server)
- `local:<name>`    the embedded model served on loopback by agent-ops itself
- `rules:<name>`    a deterministic Python rule registered under that name
- `embed:<name>`    an embedding model (the router's); it cannot answer a chat role
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_ops.errors import ConfigError, checked_config
from agent_ops.models.redact import PII_KINDS, PiiKind

ProviderKind = Literal["openai", "local", "rules", "embed"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("openai", "local", "rules", "embed")
DEFAULT_ROLES = ("extract", "classify", "respond", "judge")
DEFAULT_LOCAL = "local:smollm2"


def parse_spec(spec: str) -> tuple[ProviderKind, str]:
    """Split `kind:name`; an unknown kind or an empty name is a ConfigError naming the spec."""
    kind, sep, name = spec.partition(":")
    if not sep or not name or kind not in PROVIDER_KINDS:
        raise ConfigError(
            f"provider {spec!r} is not `kind:name` with kind one of {', '.join(PROVIDER_KINDS)}"
        )
    return kind, name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderOptions(_Strict):
    """Per-provider overrides: endpoint, key, price and how many calls may run at once."""

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; default: settings"
    )
    api_key: str | None = Field(default=None, description="key for base_url; default: settings")
    model: str | None = Field(
        default=None, description="model name sent to the endpoint (default: name)"
    )
    max_concurrency: int = Field(
        default=4,
        ge=1,
        description="calls in flight at once, per process; a `local:` model is bounded by what"
        " its server decodes at once (one call) whatever this says",
    )
    input_cost_per_1k: float = Field(default=0.0, ge=0, description="USD per 1000 input tokens")
    output_cost_per_1k: float = Field(default=0.0, ge=0, description="USD per 1000 output tokens")
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)


class RoleConfig(_Strict):
    """One role: its providers in fallback order, the prompt it uses and its limits."""

    providers: list[str] = Field(default_factory=lambda: [DEFAULT_LOCAL], min_length=1)
    prompt: str | None = Field(
        default=None, description="prompt name under prompts/ (version: `prompts`)"
    )
    timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="per attempt, counted from sending the request (not while it waits its turn)",
    )
    queue_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="how long an attempt may wait for its turn at a provider before it fails",
    )
    retries: int = Field(
        default=2, ge=0, description="extra attempts per provider on retriable errors"
    )
    backoff_seconds: float = Field(
        default=0.5, ge=0, description="first retry delay, doubled each time"
    )
    repair_attempts: int = Field(
        default=1, ge=0, description="re-asks after invalid structured output"
    )
    on_failure: Literal["error", "human_review"] = Field(
        default="human_review",
        description="when every provider failed: raise, or pause for a person",
    )
    redact: list[PiiKind] = Field(
        default_factory=lambda: list(PII_KINDS),
        description="personal identifiers masked before a message goes to an `openai:` (external)"
        " provider; `[]` sends text as is. `local:` and `rules:` never leave the machine and are"
        " never masked",
    )

    @field_validator("redact", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        # Name the unknown kind itself: the Literal's own message lists the choices only.
        for kind in value if isinstance(value, list) else ():
            if kind not in PII_KINDS:
                raise ValueError(f"{kind!r} is not one of {', '.join(PII_KINDS)}")
        return value

    @field_validator("providers")
    @classmethod
    def _specs(cls, value: list[str]) -> list[str]:
        for spec in value:
            try:
                parse_spec(spec)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value


def _default_roles() -> dict[str, RoleConfig]:
    return {role: RoleConfig(prompt=role) for role in DEFAULT_ROLES}


class ModelsConfig(_Strict):
    """The whole models config file."""

    roles: dict[str, RoleConfig] = Field(default_factory=_default_roles)
    providers: dict[str, ProviderOptions] = Field(
        default_factory=dict, description="options keyed by provider spec, e.g. `openai:gpt-4o`"
    )
    prompts: dict[str, str] = Field(
        default_factory=dict, description="prompt name -> version (default: the newest file)"
    )
    prompts_dir: Path | None = Field(default=None, description="default: settings.prompts_dir")

    def role(self, name: str) -> RoleConfig:
        """Return a role's config; an unknown role is a ConfigError listing the known ones."""
        try:
            return self.roles[name]
        except KeyError:
            raise ConfigError(
                f"model role {name!r} is not configured; roles: {', '.join(sorted(self.roles))}"
            ) from None

    def options(self, spec: str) -> ProviderOptions:
        return self.providers.get(spec) or ProviderOptions()


def load_models_config(path: Path | None) -> ModelsConfig:
    """Read the config file by its suffix (.yaml/.yml, .json, .toml); None gives the defaults."""
    if path is None:
        return ModelsConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read models config {path}: {exc.strerror}") from None
    try:
        data: Any
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        elif path.suffix == ".json":
            data = json.loads(text)
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(f"models config {path} must end in .yaml, .yml, .json or .toml")
    except (yaml.YAMLError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"models config {path} is not valid {path.suffix[1:]}: {exc}") from None
    config = checked_config(ModelsConfig, data, f"models config {path}")
    if config.prompts_dir is not None and not config.prompts_dir.is_absolute():
        config = config.model_copy(update={"prompts_dir": path.parent / config.prompts_dir})
    return config
