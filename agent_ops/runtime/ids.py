"""Resource ids: UUIDs, issued here and checked here (a bad one is a 422 naming it)."""

from __future__ import annotations

import uuid

from agent_ops.errors import InvalidInput


def new_id() -> str:
    """Return a new resource id (UUID4, as the LangGraph server issues them)."""
    return str(uuid.uuid4())


def checked_id(value: str, what: str) -> str:
    """Return `value` in canonical UUID form; InvalidInput naming `what` if it is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not a valid UUID") from None
