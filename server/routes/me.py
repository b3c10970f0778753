"""Who the caller is: the identity the server authenticated, so a client (the console) can show
it and hide what the caller's role may not do. The server still checks every call itself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agent_ops.types import DEFAULT_TENANT
from server.deps import RuntimeDep

router = APIRouter(tags=["identity"])


@router.get("/me")
async def me(runtime: RuntimeDep) -> dict[str, Any]:
    """Return the caller's subject, tenant, role and how it signed in, with what that role may
    do; 401 without credentials when authentication is on. With authentication off (allowed
    only on loopback) every caller is admin of the default tenant, and the answer says so."""
    identity = runtime.caller
    if identity is None:
        return {
            "subject": "local",
            "display_name": None,
            "tenant": DEFAULT_TENANT,
            "role": "admin",
            "auth": runtime.auth.mode,
            "via": None,
            "can": dict.fromkeys(("read", "run", "approve", "admin"), True),
        }
    return {
        "subject": identity.subject,
        "display_name": identity.display_name,
        "tenant": identity.tenant,
        "role": identity.role,
        "auth": runtime.auth.mode,
        "via": identity.via,
        # What the console shows or hides, by the same ladder the server enforces with.
        "can": {
            "read": True,
            "run": identity.allows("operator"),
            "approve": identity.allows("approver"),
            "admin": identity.allows("admin"),
        },
    }
