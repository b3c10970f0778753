"""Governance: who may call agent-ops and what each caller may do.

`identity` (the authenticated `Identity`, the role ladder, the caller of the current request),
`roles` (the table of operations and the role each needs), `keys` (API keys, stored as HMACs),
`oidc` (JWT bearer tokens checked against a provider's JWKS), `handler` (a LangGraph-style
custom auth handler from langgraph.json), `gate` (`Authentication`: the configured way, and the
refusal to serve a network unauthenticated), `tenancy` (each tenant sees only its own rows),
`authz` (a handler's `@auth.on` handlers), `audit` (the hash-chained audit trail), `approvals`
(four-eyes, two-approver and expiry rules), `escalation` (overdue approvals escalated on a
timer), `tools` (which writes a graph's runs may make). The runtime's door calls these; the
server only hands over a request's facts.

May import `agent_ops.storage`, `agent_ops.settings`, `agent_ops.errors`, `agent_ops.types`.
"""

from __future__ import annotations

from agent_ops.governance import audit, authz
from agent_ops.governance.approvals import ApprovalPolicy, PendingApproval
from agent_ops.governance.escalation import EscalationSweep
from agent_ops.governance.gate import Authentication, is_loopback
from agent_ops.governance.handler import AuthHandler, RequestFacts, auth_handler, declared_auth
from agent_ops.governance.identity import (
    ROLES,
    Identity,
    Role,
    bind_caller,
    caller,
    highest_role,
    parse_role,
)
from agent_ops.governance.keys import IssuedKey, KeyRing, parse_duration
from agent_ops.governance.oidc import OidcVerifier
from agent_ops.governance.roles import OPERATIONS, Operation, authorize, operation_for
from agent_ops.governance.tenancy import (
    Stamp,
    acting_as,
    hidden,
    stamp,
    tenant_filter,
    tenant_of_caller,
    visible,
)
from agent_ops.governance.tools import ToolPermissions, ToolScope

__all__ = [
    "OPERATIONS",
    "ROLES",
    "ApprovalPolicy",
    "AuthHandler",
    "Authentication",
    "EscalationSweep",
    "Identity",
    "IssuedKey",
    "KeyRing",
    "OidcVerifier",
    "PendingApproval",
    "Operation",
    "RequestFacts",
    "Role",
    "Stamp",
    "ToolPermissions",
    "ToolScope",
    "audit",
    "authz",
    "auth_handler",
    "authorize",
    "bind_caller",
    "acting_as",
    "caller",
    "declared_auth",
    "hidden",
    "highest_role",
    "is_loopback",
    "operation_for",
    "parse_duration",
    "parse_role",
    "stamp",
    "tenant_filter",
    "tenant_of_caller",
    "visible",
]
