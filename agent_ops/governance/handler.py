"""A LangGraph-style custom auth handler, declared in langgraph.json as
`"auth": {"path": "./auth.py:auth"}`: a `langgraph_sdk.Auth` object whose `@auth.authenticate`
function is called on every request as LangGraph's server calls it.

The function may take, by name: `request`, `method`, `path`, `path_params`, `query_params`,
`headers` (raw header names and values as bytes) and `authorization` (the Authorization header).
It returns a user id string, a dict with `identity` (and optional `permissions`,
`display_name`), or an object with those attributes; `Auth.exceptions.HTTPException` refuses the
request with its status. agent-ops reads the role from the user's `role` (or the highest role
named in `permissions`) and the tenant from `tenant` or `tenant_id`.

Its `@auth.on` authorization handlers are applied by `authz`, for the user this returned; one
registered for a resource or action agent-ops does not ask about stops start-up.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from agent_ops.errors import ConfigError, Unauthenticated
from agent_ops.governance import authz
from agent_ops.governance.identity import Identity, Role, highest_role
from agent_ops.storage import AuditTrail
from agent_ops.types import DEFAULT_TENANT

__all__ = ["AuthHandler", "RequestFacts", "auth_handler", "declared_auth"]

log = logging.getLogger(__name__)

_PARAMETERS = frozenset(
    {"request", "method", "path", "path_params", "query_params", "headers", "authorization"}
)


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What an authenticator may read of a request, taken by the server from its HTTP layer."""

    method: str
    path: str
    headers: Mapping[bytes, bytes]
    path_params: Mapping[str, str]
    query_params: Mapping[str, str]
    request: Any = None
    """The server's own request object, for handlers that ask for `request`."""

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower().encode("latin-1"))
        return None if value is None else value.decode("latin-1")


class _Headers(dict[bytes, bytes]):
    """Raw headers (bytes to bytes, as LangGraph passes them) that also answer `str` names, since
    LangGraph's own examples call `headers.get("x-api-key")`."""

    def __getitem__(self, key: bytes | str) -> bytes:
        return super().__getitem__(_raw(key))

    def get(self, key: bytes | str, default: Any = None) -> Any:
        return super().get(_raw(key), default)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(_raw(key) if isinstance(key, bytes | str) else key)


def _raw(key: bytes | str) -> bytes:
    return key.lower().encode("latin-1") if isinstance(key, str) else key


class HandlerUser:
    """The user an authenticate function returned, as `@auth.on` handlers read it (LangGraph's
    server hands them the same): `identity`, `permissions`, `display_name`, `is_authenticated`
    as attributes, and the returned dict's keys by `user["key"]`."""

    __slots__ = ("_fields", "_raw")

    def __init__(self, raw: Any, fields: Mapping[str, Any]) -> None:
        self._raw = raw
        self._fields = fields

    @property
    def identity(self) -> str:
        return str(self._fields["identity"])

    @property
    def permissions(self) -> list[str]:
        return list(self._fields.get("permissions") or [])

    @property
    def display_name(self) -> str:
        return str(self._fields.get("display_name") or self.identity)

    @property
    def is_authenticated(self) -> bool:
        return self._fields.get("is_authenticated", True) is not False

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __iter__(self) -> Any:
        return iter(self._fields)

    def __getattr__(self, name: str) -> Any:  # what else the app's own user object holds
        if name in self._fields:
            return self._fields[name]
        return getattr(self._raw, name)


class AuthHandler:
    """Calls one `@auth.authenticate` function and reads its user as an `Identity`."""

    def __init__(
        self, spec: str, auth: Any, *, default_role: Role, trail: AuditTrail | None = None
    ) -> None:
        self.spec = spec
        self.rules = authz.Rules(spec, auth, trail)
        self._fn = auth._authenticate_handler
        self._default_role = default_role
        self._wanted = [p for p in inspect.signature(self._fn).parameters if p in _PARAMETERS]
        unknown = [p for p in inspect.signature(self._fn).parameters if p not in _PARAMETERS]
        if unknown:
            raise ConfigError(
                f"auth handler {spec}: its authenticate function takes {', '.join(unknown)}; "
                f"it may take only {', '.join(sorted(_PARAMETERS))}"
            )
        self._async = inspect.iscoroutinefunction(self._fn)

    async def authenticate(self, facts: RequestFacts) -> Identity:
        available: dict[str, Any] = {
            "request": facts.request,
            "method": facts.method,
            "path": facts.path,
            "path_params": dict(facts.path_params),
            "query_params": dict(facts.query_params),
            "headers": _Headers(facts.headers),
            "authorization": facts.header("authorization"),
        }
        args = {name: available[name] for name in self._wanted}
        from langgraph_sdk.auth.exceptions import HTTPException

        try:
            if self._async:
                user = await self._fn(**args)
            else:
                user = await anyio.to_thread.run_sync(lambda: self._fn(**args))
        except HTTPException as exc:
            raise authz.Refused(exc.status_code, f"auth handler {self.spec}: {exc.detail}") from exc
        except AssertionError as exc:
            raise Unauthenticated(f"auth handler {self.spec} refused the request: {exc}") from exc
        identity, fields = self._identity(user)
        authz.bind(self.rules, HandlerUser(user, fields), list(fields.get("permissions") or []))
        return identity

    def _identity(self, user: Any) -> tuple[Identity, Mapping[str, Any]]:
        if user is None:
            raise Unauthenticated(f"auth handler {self.spec} returned no user")
        if isinstance(user, str):
            fields: Mapping[str, Any] = {"identity": user}
        elif isinstance(user, Mapping):
            fields = user
        else:
            fields = {
                name: getattr(user, name)
                for name in ("identity", "permissions", "display_name", "role", "tenant")
                if hasattr(user, name)
            }
        identity = fields.get("identity")
        if not isinstance(identity, str) or not identity:
            raise Unauthenticated(f"auth handler {self.spec} returned a user without identity")
        if fields.get("is_authenticated") is False:
            raise Unauthenticated(f"auth handler {self.spec}: {identity!r} is not authenticated")
        role = (
            highest_role(fields.get("role"))
            or highest_role(list(fields.get("permissions") or []))
            or self._default_role
        )
        tenant = fields.get("tenant") or fields.get("tenant_id") or DEFAULT_TENANT
        name = fields.get("display_name")
        return Identity(
            tenant=str(tenant),
            subject=identity,
            role=role,
            via="handler",
            display_name=name if isinstance(name, str) else None,
        ), fields


def declared_auth(config: Path) -> str | None:
    """The `"auth": {"path": ...}` spec langgraph.json declares, or None when it declares none;
    ConfigError naming the file when the section has another shape."""
    try:
        declared = json.loads(config.read_text(encoding="utf-8")).get("auth")
    except (OSError, ValueError, AttributeError):
        return None  # the graph registry reports an unreadable config with its own message
    if declared is None:
        return None
    if not isinstance(declared, dict) or not isinstance(declared.get("path"), str):
        raise ConfigError(f'{config}: "auth" must be an object like {{"path": "./auth.py:auth"}}')
    ignored = sorted(set(declared) - {"path"})
    if ignored:
        log.warning("%s: auth keys %s are not applied by agent-ops", config, ", ".join(ignored))
    spec: str = declared["path"]
    if ":" not in spec:
        raise ConfigError(f'{config}: auth path {spec!r} must be "./file.py:attr" or "module:attr"')
    return spec


def auth_handler(
    spec: str, auth: Any, *, default_role: Role, trail: AuditTrail | None = None
) -> AuthHandler:
    """Wrap the imported `Auth` object; ConfigError when it is not one, has no authenticate
    function, or registers `@auth.on` handlers for what agent-ops does not ask about."""
    from langgraph_sdk import Auth

    if not isinstance(auth, Auth):
        raise ConfigError(
            f"auth handler {spec} is a {type(auth).__name__}, not a langgraph_sdk.Auth object"
        )
    if auth._authenticate_handler is None:
        raise ConfigError(f"auth handler {spec} has no @auth.authenticate function")
    return AuthHandler(spec, auth, default_role=default_role, trail=trail)
