"""The SQL connector's configuration: one database, its named queries, the optional ad-hoc tool."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tools.connector import Effect
from tools.sql._text import parse_sql

ParamType = Literal["str", "int", "float", "decimal", "bool", "date", "datetime"]
Idempotency = Literal["ledger", "sql", "none"]
KEY_PARAM = "idempotency_key"
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SQLParam(_Model):
    """One parameter of a named query; `"int"` alone is short for `{type: int}`."""

    type: ParamType = "str"
    pattern: str | None = Field(default=None, description="a regex a `str` value must match")
    description: str | None = None
    max_length: int | None = Field(default=None, ge=1, description="for `str` values")
    optional: bool = Field(default=False, description="may be omitted; binds NULL")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> SQLParam:
        if self.type != "str" and (self.pattern or self.max_length):
            raise ValueError(f"pattern and max_length apply to str parameters, not {self.type}")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regex: {exc}") from exc
        return self


class SQLQuery(_Model):
    """A named, parameterised statement; it becomes one tool called `sql_<name>`."""

    sql: str = Field(min_length=1, description="the statement, with `:name` placeholders")
    description: str = Field(min_length=1, description="what the tool does, for the model")
    params: dict[Annotated[str, Field(pattern=NAME_PATTERN)], SQLParam] = Field(
        default_factory=dict
    )
    effect: Effect = "read"
    timeout: float = Field(default=10.0, gt=0, le=3600, description="seconds, enforced by the DB")
    max_rows: int = Field(default=100, ge=1, le=100_000)
    idempotency: Idempotency | None = Field(
        default=None,
        description=(
            "writes only. `ledger`: the connector records the key and the result in the same "
            "transaction and answers a repeated key with the first result; `sql`: the statement "
            "uses `:idempotency_key` itself (e.g. a unique column with ON CONFLICT DO NOTHING); "
            "`none`: no key, with the reason in `no_key_reason`"
        ),
    )
    no_key_reason: str | None = Field(
        default=None, description="why a write needs no key (e.g. it sets a state and repeats)"
    )

    @model_validator(mode="after")
    def _check(self) -> SQLQuery:
        used = parse_sql(self.sql).names
        declared = set(self.params)
        if self.effect == "read":
            if self.idempotency is not None or self.no_key_reason is not None:
                raise ValueError("idempotency applies to writes; this query has effect=read")
        elif self.idempotency is None:
            raise ValueError(
                "a write must say how a repeat is made harmless: idempotency=ledger, sql, or "
                "none with no_key_reason"
            )
        elif self.idempotency == "none" and not self.no_key_reason:
            raise ValueError("idempotency=none needs no_key_reason saying why a repeat is harmless")
        if KEY_PARAM in declared:
            raise ValueError(f"{KEY_PARAM!r} is reserved; set idempotency=sql to use it")
        if self.idempotency == "sql":
            if KEY_PARAM not in used:
                raise ValueError(f"idempotency=sql but the statement does not use :{KEY_PARAM}")
            declared.add(KEY_PARAM)
        if undeclared := sorted(used - declared):
            raise ValueError(f"the statement uses undeclared parameters: {', '.join(undeclared)}")
        if unused := sorted(declared - used):
            raise ValueError(f"declared parameters not in the statement: {', '.join(unused)}")
        return self


class AdhocConfig(_Model):
    """The ad-hoc read-only query tool `sql_query`; off unless `enabled`."""

    enabled: bool = False
    url: SecretStr | None = Field(
        default=None,
        description="another URL for ad-hoc queries, e.g. a read-only role; the main one if unset",
    )
    timeout: float = Field(default=5.0, gt=0, le=600)
    max_rows: int = Field(default=200, ge=1, le=10_000)
    description: str = Field(
        default="Run one read-only SQL statement (SELECT, WITH ... SELECT, VALUES).",
        description="extra words for the model, e.g. the tables worth knowing",
    )


class SQLConfig(_Model):
    """One database (PostgreSQL or SQLite) and the tools over it."""

    url: SecretStr = Field(description="postgresql://user@host/db or sqlite:///path/to/file.db")
    name: str = Field(
        default="sql", pattern=NAME_PATTERN, description="tool name prefix and system name"
    )
    queries: dict[Annotated[str, Field(pattern=NAME_PATTERN)], SQLQuery] = Field(
        default_factory=dict
    )
    adhoc: AdhocConfig = Field(default_factory=AdhocConfig)
    connect_timeout: float = Field(default=5.0, gt=0, le=120)
    attempts: int = Field(default=3, ge=1, description="tries for a call that had no effect")
    backoff: float = Field(default=0.2, ge=0)
    ledger_table: str = Field(
        default="agent_ops_sql_idempotency",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="where idempotency=ledger keeps keys and results",
    )

    @field_validator("url", mode="after")
    @classmethod
    def _scheme(cls, url: SecretStr) -> SecretStr:
        _check_url(url.get_secret_value())
        return url

    @model_validator(mode="after")
    def _check(self) -> SQLConfig:
        if self.adhoc.url is not None:
            _check_url(self.adhoc.url.get_secret_value())
            if backend(self.adhoc.url.get_secret_value()) != backend(self.url.get_secret_value()):
                raise ValueError("adhoc.url must name the same kind of database as url")
        if self.adhoc.enabled and "query" in self.queries:
            raise ValueError("a named query called 'query' would clash with the ad-hoc tool")
        return self


def backend(url: str) -> Literal["postgres", "sqlite"]:
    return "sqlite" if url.startswith("sqlite:///") else "postgres"


def _check_url(url: str) -> None:
    if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        scheme = url.split(":", 1)[0]
        raise ValueError(
            f"database URL scheme {scheme!r} is not supported; use sqlite:///PATH or postgresql://..."
        )
