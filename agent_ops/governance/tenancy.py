"""Tenants: a caller sees and touches only its own tenant's rows. Creates are stamped with the
caller's tenant and subject; a row of another tenant is answered as missing (404, never 403, so
its existence is not told). The registry's default assistants (default tenant, owner `system`)
are shared: every tenant may read and run them.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from agent_ops.errors import NotFound
from agent_ops.governance.identity import Identity, caller
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT

__all__ = ["Stamp", "acting_as", "hidden", "stamp", "tenant_filter", "tenant_of_caller", "visible"]


class Stamp(TypedDict, total=False):
    tenant_id: str
    owner: str


def tenant_filter() -> str | None:
    """The tenant searches and counts are limited to: the caller's; None without a caller."""
    identity = caller()
    return None if identity is None else identity.tenant


def tenant_of_caller() -> str:
    """The tenant whose store items the caller reads and writes (the default without one)."""
    return tenant_filter() or DEFAULT_TENANT


def stamp() -> Stamp:
    """What a create records of its caller (nothing without one: the storage's defaults)."""
    identity = caller()
    if identity is None:
        return {}
    return {"tenant_id": identity.tenant, "owner": identity.subject}


def visible(tenant_id: str, owner: str, *, shared: bool = False) -> bool:
    """Whether the caller may see a row of `tenant_id`; `shared` lets the registry's default
    assistants through (for reading and running them, not changing them)."""
    identity = caller()
    if identity is None or tenant_id == identity.tenant:
        return True
    return shared and tenant_id == DEFAULT_TENANT and owner == DEFAULT_OWNER


def acting_as(tenant_id: str, owner: str, via: Literal["cron", "run"]) -> Identity | None:
    """Whom work started by a row acts as: a cron's firing or a run's graph act for the caller
    that made the row, in its tenant (admin, as creating crons needs); nobody for a row made
    without authentication."""
    if tenant_id == DEFAULT_TENANT and owner == DEFAULT_OWNER:
        return None
    return Identity(tenant=tenant_id, subject=owner, role="admin", via=via)


def hidden(kind: str, name: str) -> NotFound:
    """The answer for another tenant's row: the same words as for a missing one."""
    return NotFound(f"{kind} {name} not found")
