"""A trigger as the API and config declare it: one pydantic model, checked field by field, so
bad input is a 422 naming the field (an invalid cron, a malformed condition or JSON path)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import Field, model_validator

from agent_ops.errors import InvalidInput
from agent_ops.runtime import RunOptions
from agent_ops.storage import TriggerKind
from agent_ops.triggers.mapping import check_path, check_template
from agent_ops.triggers.schedule import MisfirePolicy, check_schedule
from agent_ops.triggers.threshold import parse_condition
from agent_ops.types import MultitaskStrategy
from agent_ops.values import StorableBody

__all__ = ["TriggerCreate", "TriggerPatch"]

# Which spec fields each kind needs, and which it may have.
_NEEDS: dict[str, tuple[str, ...]] = {
    "cron": ("schedule",),
    "webhook": (),
    "email": ("source",),
    "folder": ("source",),
    "sql_threshold": ("schedule", "connection", "query", "condition"),
}
_ALLOWS: dict[str, frozenset[str]] = {
    "cron": frozenset({"schedule", "timezone", "misfire"}),
    "webhook": frozenset({"idempotency", "payload_schema"}),
    "email": frozenset({"source", "schedule", "timezone"}),
    "folder": frozenset({"source", "schedule", "timezone"}),
    "sql_threshold": frozenset(
        {"schedule", "timezone", "connection", "query", "condition", "hysteresis"}
    ),
}
# Every kind may give its runs a config (merged over the assistant's, as a run's own is).
_ALLOWS = {kind: fields | {"config"} for kind, fields in _ALLOWS.items()}
SPEC_FIELDS = frozenset().union(*_ALLOWS.values())


class _Fields(StorableBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    assistant_id: str | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    input_mapping: dict[str, Any] | None = Field(
        default=None, description="run input field -> JSON path into the event ($...) or literal"
    )
    business_key: str | None = Field(
        default=None,
        max_length=500,
        description="template of the thread's key, e.g. invoice:{$.payload.number}",
    )
    multitask_strategy: MultitaskStrategy | None = None
    schedule: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=100)
    misfire: MisfirePolicy | None = None
    idempotency: str | None = Field(
        default=None, description="webhook-id (default), header:<name> or a JSON path $.…"
    )
    payload_schema: dict[str, Any] | None = None
    connection: str | None = Field(default=None, description="the SQL connector's name")
    query: str | None = Field(default=None, description="a named query of that connector")
    condition: str | None = None
    hysteresis: float | None = Field(default=None, ge=0)
    config: dict[str, Any] | None = Field(
        default=None,
        description="run config of the runs it starts, e.g. {configurable: {invoice_policy: ...}}",
    )
    source: str | None = Field(
        default=None,
        max_length=200,
        description="the intake source of the connectors config: mail, folder:<name>",
    )

    def spec(self) -> dict[str, Any]:
        """The kind-specific fields given, as stored in the trigger's `spec`."""
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k in SPEC_FIELDS}

    def check(self, kind: str) -> None:
        """Check the given fields against `kind`; InvalidInput naming the field."""
        given = self.spec()
        for name in _NEEDS[kind]:
            if name in given and given[name] is None:
                raise InvalidInput(f"{name} is required for a {kind} trigger")
        for name in ("name", "enabled", "multitask_strategy", "assistant_id"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise InvalidInput(f"{name} must not be null")
        for name in sorted(set(given) - _ALLOWS[kind]):
            if given[name] is not None:
                raise InvalidInput(f"{name}: not a field of a {kind} trigger")
        if self.schedule is not None:
            try:
                check_schedule(self.schedule, self.timezone)
            except InvalidInput as exc:
                field = "timezone" if "timezone" in str(exc) else "schedule"
                raise InvalidInput(f"{field}: {exc}") from None
        if self.condition is not None:
            try:
                parse_condition(self.condition)
            except InvalidInput as exc:
                raise InvalidInput(f"condition: {exc}") from None
        if self.business_key is not None:
            check_template(self.business_key, "business_key")
        for name, spec in (self.input_mapping or {}).items():
            if isinstance(spec, str) and spec.startswith("$"):
                check_path(spec, f"input_mapping.{name}")
        if self.idempotency is not None and self.idempotency != "webhook-id":
            if self.idempotency.startswith("header:"):
                if not self.idempotency.removeprefix("header:").strip():
                    raise InvalidInput("idempotency: header:<name> needs a header name")
            else:
                check_path(self.idempotency, "idempotency")
        if self.config is not None:
            RunOptions(config=self.config)  # refuses reserved `__` configurable keys, naming them
        if self.payload_schema is not None:
            try:
                Draft202012Validator.check_schema(self.payload_schema)
            except SchemaError as exc:
                raise InvalidInput(f"payload_schema: not a JSON Schema: {exc.message}") from None


class TriggerCreate(_Fields):
    """A new trigger."""

    name: str = Field(min_length=1, max_length=200)
    kind: TriggerKind
    assistant_id: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _kind_fields(self) -> TriggerCreate:
        for name in _NEEDS[self.kind]:
            if getattr(self, name) is None:
                raise ValueError(f"{name} is required for a {self.kind} trigger")
        return self


class TriggerPatch(_Fields):
    """Changes to a trigger: only the fields given are changed (its kind never is)."""
