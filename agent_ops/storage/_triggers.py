"""Triggers in storage: their rows as values and the `Storage` part written once above
both backends (each one transaction of the backend's `triggers` module function of that name).

A firing is one transaction: the claim of a due time (a conditional UPDATE of `next_due`), the
idempotency ledger row and the run it queues commit together or not at all, so a crash at any
point neither loses a firing nor starts it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from agent_ops.errors import Conflict, NotFound
from agent_ops.storage._base import Base
from agent_ops.storage._records import reader
from agent_ops.storage._requests import Encode, NewRun
from agent_ops.types import DEFAULT_OWNER, DEFAULT_TENANT, Json, MultitaskStrategy

__all__ = [
    "Claim",
    "Firing",
    "StaleState",
    "FiringResult",
    "NewRun",  # a firing carries the run it queues
    "NewTrigger",
    "Observed",
    "StoredTrigger",
    "TriggerEvent",
    "TriggerKind",
    "TriggerObservation",
]

TriggerKind = Literal["cron", "webhook", "email", "folder", "sql_threshold"]

# Columns a change may set (the rest are the row's identity or written by firings).
CHANGEABLE = frozenset(
    {
        "name",
        "assistant_id",
        "enabled",
        "spec",
        "input_mapping",
        "business_key",
        "multitask_strategy",
        "next_due",
        "state",
    }
)


@dataclass(frozen=True, slots=True)
class NewTrigger:
    """A trigger to store, checked by the layer above."""

    trigger_id: str
    name: str
    kind: TriggerKind
    assistant_id: str
    spec: Json
    input_mapping: Json | None = None
    business_key: str | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    enabled: bool = True
    secret: str | None = None
    next_due: datetime | None = None
    tenant_id: str = DEFAULT_TENANT
    owner: str = DEFAULT_OWNER

    def params(self, json: Encode, time: Encode) -> tuple[Any, ...]:
        """trigger_id, tenant_id, owner, name, kind, assistant_id, enabled, spec, input_mapping,
        business_key, multitask_strategy, secret, next_due; `json` and `time` take None"""
        return (
            self.trigger_id,
            self.tenant_id,
            self.owner,
            self.name,
            self.kind,
            self.assistant_id,
            self.enabled,
            json(self.spec),
            json(self.input_mapping),
            self.business_key,
            self.multitask_strategy,
            self.secret,
            time(self.next_due),
        )


@dataclass(frozen=True, slots=True)
class StoredTrigger:
    """A trigger's row."""

    trigger_id: str
    tenant_id: str
    owner: str
    name: str
    kind: TriggerKind
    assistant_id: str
    enabled: bool
    spec: Json
    input_mapping: Json | None
    business_key: str | None
    multitask_strategy: MultitaskStrategy
    secret: str | None
    state: Json
    state_version: int
    next_due: datetime | None
    last_fired_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """A row of the idempotency ledger: one event taken in, and the run it started."""

    trigger_id: str
    event_key: str
    run_id: str
    thread_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TriggerObservation:
    """A value a SQL threshold saw on one poll, and whether that poll fired."""

    seq: int
    trigger_id: str
    observed_at: datetime
    value: Any
    row_count: int
    fired: bool


@dataclass(frozen=True, slots=True)
class Claim:
    """Move `next_due` from `due` to `following`; only the transaction that does fires."""

    due: datetime
    following: datetime | None


@dataclass(frozen=True, slots=True)
class Observed:
    """A threshold's new state, written only if its state is still at `version`."""

    version: int
    state: Json
    value: Any
    row_count: int


@dataclass(frozen=True, slots=True)
class Firing:
    """What one firing transaction does; each part optional: a claim of a due time, a
    threshold's observation, an event (ledger key and run) to start."""

    trigger_id: str
    claim: Claim | None = None
    observed: Observed | None = None
    event_key: str | None = None
    run: NewRun | None = None


@dataclass(frozen=True, slots=True)
class FiringResult:
    """`claimed`: this transaction won the due time or state version (True when none was
    asked); `event`: the ledger row (new or found); `started`: whether its run was queued now."""

    claimed: bool
    event: TriggerEvent | None = None
    started: bool = False


class Triggers(Base):
    """Stored triggers: how workflows start (cron, webhook, e-mail, folder, SQL threshold),
    their firings and what they observed."""

    async def create_trigger(self, new: NewTrigger) -> StoredTrigger:
        """Store a trigger; Conflict when its tenant has one of that name."""
        return await self._tx(self._sql.triggers.create_trigger, new)

    async def get_trigger(self, trigger_id: str) -> StoredTrigger:
        """Return a trigger; NotFound when there is none."""
        return await self._tx(self._sql.triggers.get_trigger, trigger_id)

    async def list_triggers(
        self, *, tenant_id: str | None = None, kind: str | None = None
    ) -> list[StoredTrigger]:
        return await self._tx(self._sql.triggers.list_triggers, tenant_id, kind)

    async def update_trigger(self, trigger_id: str, changes: dict[str, Any]) -> StoredTrigger:
        """Set the CHANGEABLE columns in `changes`; NotFound when there is no such trigger."""
        unknown = set(changes) - CHANGEABLE
        if unknown:
            raise ValueError(f"trigger columns {sorted(unknown)} cannot be changed")
        return await self._tx(self._sql.triggers.update_trigger, trigger_id, changes)

    async def delete_trigger(self, trigger_id: str) -> None:
        await self._tx(self._sql.triggers.delete_trigger, trigger_id)

    async def due_triggers(self, *, now: datetime, limit: int = 100) -> list[StoredTrigger]:
        """Enabled triggers whose `next_due` is at or before `now`, soonest first."""
        return await self._tx(self._sql.triggers.due_triggers, now, limit)

    async def fire_trigger(self, firing: Firing) -> FiringResult:
        """Run one firing as one transaction (see `Firing`)."""
        return await self._tx(self._sql.triggers.fire_trigger, firing)

    async def record_trigger_error(self, trigger_id: str, error: str) -> None:
        await self._tx(self._sql.triggers.record_trigger_error, trigger_id, error)

    async def record_trigger_fired(self, trigger_id: str) -> None:
        """Stamp `last_fired_at` and clear `last_error` (for firings another ledger holds)."""
        await self._tx(self._sql.triggers.record_trigger_fired, trigger_id)

    async def trigger_events(self, trigger_id: str) -> list[TriggerEvent]:
        return await self._tx(self._sql.triggers.trigger_events, trigger_id)

    async def trigger_observations(
        self, trigger_id: str, *, limit: int = 100
    ) -> list[TriggerObservation]:
        """The newest observations first."""
        return await self._tx(self._sql.triggers.trigger_observations, trigger_id, limit)


# -- rows to records (both backends) -------------------------------------------------------------
trigger_of = reader(
    StoredTrigger,
    json="spec input_mapping state",
    maybe_time="next_due last_fired_at last_error_at",
    flag="enabled",
)
event_of = reader(TriggerEvent, time="created_at")
observation_of = reader(TriggerObservation, json="value", time="observed_at", flag="fired")


def missing_trigger(trigger_id: str) -> NotFound:
    return NotFound(f"trigger {trigger_id} not found")


class StaleState(Conflict):
    """Raised when a threshold's poll would write over a newer poll's state (it is dropped)."""


def stale_state(trigger_id: str, version: int) -> StaleState:
    return StaleState(f"trigger {trigger_id}'s state moved past version {version}; poll dropped")


def duplicate_name(name: str) -> Conflict:
    return Conflict(f"a trigger named {name!r} already exists in this tenant")
