"""Who is calling: the authenticated `Identity`, its role on the ladder, and the caller of the
request being served (a context variable, so the runtime reads it without the HTTP layer)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final, Literal

from agent_ops.errors import Forbidden, InvalidInput

Role = Literal["viewer", "operator", "approver", "admin"]
ROLES: Final[tuple[Role, ...]] = ("viewer", "operator", "approver", "admin")
"""The role ladder, lowest first: each role may do everything the roles below it may."""

Via = Literal["key", "oidc", "handler", "cron", "run"]

__all__ = [
    "ROLES",
    "Identity",
    "Role",
    "Via",
    "bind_caller",
    "caller",
    "highest_role",
    "parse_role",
]


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller: which tenant it acts in, who it is, and its role."""

    tenant: str
    subject: str
    """The key's id (`key:<id>`), the token's subject, or what a custom handler returned."""
    role: Role
    via: Via
    display_name: str | None = None

    def allows(self, needed: Role) -> bool:
        """Whether this identity's role is `needed` or above it."""
        return ROLES.index(self.role) >= ROLES.index(needed)

    def require(self, needed: Role, doing: str) -> None:
        """Raise Forbidden naming the role `doing` needs, when this identity's role is below it."""
        if not self.allows(needed):
            raise Forbidden(
                f"{doing} needs role {needed!r} or above; the caller {self.subject!r} "
                f"has role {self.role!r}"
            )


def parse_role(value: str) -> Role:
    """Return `value` as a role; InvalidInput naming it and the roles otherwise."""
    if value not in ROLES:
        raise InvalidInput(f"role {value!r} is not one of {', '.join(ROLES)}")
    return value


def highest_role(values: object) -> Role | None:
    """The highest role named by a claim (a string or a list of strings), or None."""
    named = [values] if isinstance(values, str) else values if isinstance(values, list) else []
    known = [v for v in named if isinstance(v, str) and v in ROLES]
    return max(known, key=ROLES.index) if known else None


_caller: ContextVar[Identity | None] = ContextVar("agent_ops_caller", default=None)


def caller() -> Identity | None:
    """The identity of the request being served; None when authentication is off or outside a
    request (a worker, a trigger, the CLI)."""
    return _caller.get()


def bind_caller(identity: Identity | None) -> None:
    """Make `identity` the caller for the rest of this task (each request is its own task)."""
    _caller.set(identity)
