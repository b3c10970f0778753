"""Which role each operation of the API needs: one table, read by the server for every request.

viewer reads; operator starts runs and manages threads, runs and store items; approver also
resumes interrupted threads (a run with `command`, checked again at the runtime's door because
the route alone cannot tell) and edits a thread's state; admin manages assistants, crons and keys.
A route missing from the table needs admin, so a new route is closed until someone places it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agent_ops.governance.identity import Identity, Role

__all__ = ["OPERATIONS", "Operation", "authorize", "operation_for"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One route as governance sees it: the resource it touches, the action, the role it needs."""

    method: str
    path: str
    resource: str
    action: str
    role: Role


def _ops(role: Role, resource: str, action: str, *routes: str) -> list[Operation]:
    ops = []
    for route in routes:
        method, path = route.split(" ", 1)
        ops.append(Operation(method, path, resource, action, role))
    return ops


OPERATIONS: Final[tuple[Operation, ...]] = (
    # -- reads ------------------------------------------------------------------------------------
    *_ops("viewer", "server", "read", "GET /info", "GET /metrics"),
    *_ops("viewer", "identity", "read", "GET /me"),
    *_ops(
        "viewer",
        "assistants",
        "read",
        "POST /assistants/search",
        "POST /assistants/count",
        "GET /assistants/{assistant_id}",
        "POST /assistants/{assistant_id}/versions",
        "GET /assistants/{assistant_id}/graph",
        "GET /assistants/{assistant_id}/schemas",
        "GET /assistants/{assistant_id}/subgraphs",
        "GET /assistants/{assistant_id}/subgraphs/{namespace}",
    ),
    *_ops(
        "viewer",
        "threads",
        "read",
        "POST /threads/search",
        "POST /threads/count",
        "GET /threads/{thread_id}",
        "GET /threads/{thread_id}/state",
        "GET /threads/{thread_id}/state/{checkpoint_id}",
        "POST /threads/{thread_id}/state/checkpoint",
        "POST /threads/{thread_id}/history",
        "GET /threads/{thread_id}/stream",
    ),
    *_ops(
        "viewer",
        "runs",
        "read",
        "GET /threads/{thread_id}/runs",
        "GET /threads/{thread_id}/runs/{run_id}",
        "GET /threads/{thread_id}/runs/{run_id}/join",
        "GET /threads/{thread_id}/runs/{run_id}/stream",
        "GET /threads/{thread_id}/runs/{run_id}/decisions",
        "GET /threads/{thread_id}/runs/{run_id}/webhook",
    ),
    *_ops("viewer", "crons", "read", "POST /runs/crons/search", "POST /runs/crons/count"),
    *_ops("viewer", "crons", "read", "GET /runs/crons/{cron_id}"),
    *_ops(
        "viewer",
        "store",
        "read",
        "GET /store/items",
        "POST /store/items/search",
        "POST /store/namespaces",
    ),
    *_ops("viewer", "intake", "read", "GET /intake", "GET /intake/triggers"),
    *_ops(
        "viewer",
        "triggers",
        "read",
        "GET /triggers",
        "GET /triggers/{trigger_id}",
        "GET /triggers/{trigger_id}/events",
    ),
    # -- the audit trail: who decided what is for those who decide, and admins ----------------
    *_ops("approver", "audit", "read", "GET /audit"),
    *_ops("approver", "approvals", "read", "GET /approvals"),
    # -- work -------------------------------------------------------------------------------------
    *_ops(
        "operator",
        "threads",
        "write",
        "POST /threads",
        "POST /threads/{thread_id}/copy",
        "PATCH /threads/{thread_id}",
        "DELETE /threads/{thread_id}",
    ),
    # A run with `command` (resume) needs approver; the runtime checks that, seeing the body.
    *_ops(
        "operator",
        "runs",
        "create",
        "POST /threads/{thread_id}/runs",
        "POST /threads/{thread_id}/runs/wait",
        "POST /threads/{thread_id}/runs/stream",
        "POST /runs",
        "POST /runs/wait",
        "POST /runs/stream",
        "POST /runs/batch",
    ),
    *_ops(
        "operator",
        "runs",
        "write",
        "DELETE /threads/{thread_id}/runs/{run_id}",
        "POST /threads/{thread_id}/runs/{run_id}/cancel",
        "POST /runs/cancel",
    ),
    *_ops("operator", "store", "write", "PUT /store/items", "DELETE /store/items"),
    *_ops("operator", "triggers", "fire", "POST /triggers/{trigger_id}/fire"),
    # -- decisions --------------------------------------------------------------------------------
    # Writing a thread's state can answer an interrupt as well as a resume can.
    *_ops("approver", "threads", "update_state", "POST /threads/{thread_id}/state"),
    # -- administration ---------------------------------------------------------------------------
    *_ops("admin", "threads", "prune", "POST /threads/prune"),
    *_ops(
        "admin",
        "assistants",
        "write",
        "POST /assistants",
        "PATCH /assistants/{assistant_id}",
        "DELETE /assistants/{assistant_id}",
        "POST /assistants/{assistant_id}/latest",
    ),
    *_ops(
        "admin",
        "crons",
        "write",
        "POST /runs/crons",
        "POST /threads/{thread_id}/runs/crons",
        "PATCH /runs/crons/{cron_id}",
        "DELETE /runs/crons/{cron_id}",
    ),
    *_ops(
        "admin",
        "triggers",
        "write",
        "POST /triggers",
        "PATCH /triggers/{trigger_id}",
        "DELETE /triggers/{trigger_id}",
    ),
)

_BY_ROUTE: Final = {(op.method, op.path): op for op in OPERATIONS}


def operation_for(method: str, path: str) -> Operation:
    """The operation of a route (its path template, as the router matched it); admin-only when
    the table does not list it."""
    found = _BY_ROUTE.get((method, path))
    return found or Operation(method, path, "unlisted", "any", "admin")


def authorize(identity: Identity, method: str, path: str) -> Operation:
    """Return the route's operation if `identity` may perform it; Forbidden naming the role."""
    op = operation_for(method, path)
    identity.require(op.role, f"{method} {path} ({op.resource}: {op.action})")
    return op
