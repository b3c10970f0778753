"""The error vocabulary of agent-ops; the server maps each class to one HTTP status.

AgentOpsError
├── Unauthenticated   the caller gave no credential, or one that is unknown, revoked or expired (401)
├── InvalidInput      a request or a file is malformed (422)
├── BadRequest        well-formed but not allowed in the current state (400)
├── NotFound          the named resource does not exist (404)
├── Conflict          the resource exists or is busy (409)
├── Forbidden         the caller may not do this (403)
├── ConfigError       the configuration cannot be used; start-up stops
├── StorageError      the database cannot be reached or used
├── ModelUnavailable  no provider of a model role could answer (503)
├── IdentityProviderUnavailable  the OIDC provider's keys (JWKS) could not be fetched (503)
└── ConnectorError    a business system behind a tool (ERP, mail server) failed a call (502)
    ├── ConnectorUnavailable  it could not be reached or did not answer in time (503)
    └── ConnectorRejected     it answered and refused the call: bad record, rule (422)
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

_Config = TypeVar("_Config", bound=BaseModel)


class AgentOpsError(Exception):
    """Base of all errors agent-ops raises on purpose."""

    status_code = 500


class Unauthenticated(AgentOpsError):
    """Raised when a request carries no credential, or one that is unknown, revoked or expired."""

    status_code = 401


class InvalidInput(AgentOpsError):
    """Raised when a request body, parameter or file does not have the required shape."""

    status_code = 422


class TooLarge(InvalidInput):
    """Raised when one field of a request (metadata, a run's input, a store value) is larger
    than its limit; names the field, its size and the setting."""

    status_code = 413


class TooManyRequests(AgentOpsError):
    """Raised when a caller holds as many of a resource (open streams) as it may; the answer
    says when to try again (`retry_after`, seconds)."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadRequest(AgentOpsError):
    """Raised when a well-formed request is not allowed in the current state."""

    status_code = 400


class NotFound(AgentOpsError):
    """Raised when an assistant, thread, run, cron or store item does not exist."""

    status_code = 404


class Conflict(AgentOpsError):
    """Raised when a resource already exists or is busy with another run."""

    status_code = 409


class Forbidden(AgentOpsError):
    """Raised when the caller is not allowed to act on a resource."""

    status_code = 403


class ConfigError(AgentOpsError):
    """Raised when langgraph.json, a graph or a setting cannot be used."""


class StorageError(AgentOpsError):
    """Raised when the database is unreachable or its schema is not usable."""


class ModelUnavailable(AgentOpsError):
    """Raised when no provider of a model role could answer (each failed or timed out)."""

    status_code = 503


class IdentityProviderUnavailable(AgentOpsError):
    """Raised when the OIDC provider's signing keys (its JWKS URL) cannot be fetched."""

    status_code = 503


class ConnectorError(AgentOpsError):
    """Raised when a business system behind a tool fails a call; names the system and URL."""

    status_code = 502

    def __init__(self, message: str, *, system: str, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.system = system
        self.url = url
        self.status = status


class ConnectorUnavailable(ConnectorError):
    """Raised when the system cannot be reached, times out or answers with a transient 5xx."""

    status_code = 503


class ConnectorRejected(ConnectorError):
    """Raised when the system answers and refuses the call, with its own message."""

    status_code = 422


def first_problem(exc: Exception, *, top: str = "(top level)") -> str:
    """The first error of a pydantic ValidationError as `loc: msg` (`top` names an empty loc);
    any other exception as its own text. For config files, where one named problem is clearer
    than a list."""
    errors = getattr(exc, "errors", None)
    if not callable(errors) or not errors():
        return str(exc)
    first = errors()[0]
    return f"{'.'.join(str(part) for part in first['loc']) or top}: {first['msg']}"


def checked_config(
    model: type[_Config], data: object, source: str, *, top: str = "(top level)"
) -> _Config:
    """Validate `data` as `model`; raise ConfigError `source: loc: msg` naming the first
    problem (the one way a config file's content is checked)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {first_problem(exc, top=top)}") from None


def validation_text(exc: Exception, *, top: str = "") -> str:
    """A pydantic ValidationError as `loc: msg; loc: msg` (`top` names an empty loc); any
    other exception as its own text."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or top}: {error['msg']}"
        for error in errors()
    )
