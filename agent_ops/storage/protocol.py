"""The storage seam: what the runtime and server need of a database, met by SQLite and PostgreSQL.

`Storage` is one abstract class made of one part per concept, each written once above both
backends on `_base.Base`: `Assistants` (`_assistants`), `Threads` (`_threads`), `Crons`
(`_crons`), `Items` (`_items`), `Runs`, `Events`, `Workers`, `Decisions`, `Intake`, `ApiKeys`,
`AuditTrail` (`_store`), `Triggers` (`_triggers`), `Outbox` (`_outbox`, outbound webhooks) and
`EvalResults` (`_evals`, offline evaluation experiments). Each method fills in its defaults and
runs one transaction of the backend's SQL function of the same name. A backend adds only its
connection: `open`, `close`, `_tx`, `notify` and `listen`. A part of agent-ops that needs one
concept can type its parameter with that part alone (`ApiKeys` for the key check).

Every state change is one transaction in the store, never in process memory, so that a second
process sees the same truth. Wake-ups (`notify`/`listen`) carry no state: a listener re-reads the
store, so a lost or duplicated notification only costs latency (workers also poll as a safety net).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from agent_ops.storage._assistants import Assistants
from agent_ops.storage._crons import Crons
from agent_ops.storage._evals import EvalResults
from agent_ops.storage._items import Items
from agent_ops.storage._outbox import Outbox
from agent_ops.storage._store import (
    ApiKeys,
    AuditTrail,
    Decisions,
    Events,
    Intake,
    Runs,
    Workers,
)
from agent_ops.storage._threads import Threads
from agent_ops.storage._triggers import Triggers
from agent_ops.storage.channels import Listener

__all__ = [
    "ApiKeys",
    "Assistants",
    "AuditTrail",
    "Crons",
    "Decisions",
    "EvalResults",
    "Events",
    "Intake",
    "Items",
    "Outbox",
    "Runs",
    "Storage",
    "Threads",
    "Triggers",
    "Workers",
]

R = TypeVar("R")


class Storage(
    Assistants,
    Threads,
    Runs,
    Events,
    Items,
    Crons,
    Workers,
    Decisions,
    Intake,
    ApiKeys,
    AuditTrail,
    Triggers,
    Outbox,
    EvalResults,
    ABC,
):
    """One agent-ops database. All methods are safe to call from several processes at once."""

    backend: Literal["sqlite", "postgres"]

    @abstractmethod
    async def open(self) -> None:
        """Connect, apply pending migrations (idempotent, safe from two processes) and listen."""

    @abstractmethod
    async def close(self) -> None:
        """Stop listening and close the connections; a closed storage refuses every call."""

    @abstractmethod
    async def _tx(self, fn: Callable[..., R], /, *args: Any) -> R:
        """Run `fn(tx, *args)` as one transaction and deliver its wake-ups after commit."""

    @abstractmethod
    async def notify(self, channel: str, payload: str) -> None:
        """Wake listeners of `channel` in this and every other process."""

    @abstractmethod
    def listen(self, channel: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(payload)` on the event loop for each wake-up; return an unsubscribe."""
