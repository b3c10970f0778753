"""Triggers: sources outside agent-ops (a mailbox, a folder) whose every new item starts one run.

A source polls for new items and hands each to its `IntakeGate`, which writes the intake ledger
row and queues the run on a new thread in one transaction, so a crash at any point neither loses
an item nor starts it twice, and pollers in several processes may watch the same source. After
the gate has the item, the source moves it out of the way (mail to a folder, a file to `done/`)
and settles it; an item seen again before that is only moved. `IntakeTriggers` polls every
source of this process and backs off while a source fails, logging why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agent_ops.errors import AgentOpsError, ConfigError, InvalidInput, NotFound
from agent_ops.governance import tenant_filter
from agent_ops.runtime.assistants import Assistants
from agent_ops.runtime.periodic import cancel_and_wait
from agent_ops.runtime.requests import RunOptions, RunRequest
from agent_ops.runtime.runs import Runs
from agent_ops.storage import IntakeEntry, IntakeItem, Storage
from agent_ops.types import Json

log = logging.getLogger(__name__)


class Door(Protocol):
    """What triggers need of the runtime: its store, its runs and its assistants."""

    storage: Storage
    runs: Runs
    assistants: Assistants


class IntakeGate:
    """Where one source hands in its items: each becomes exactly one run of one assistant."""

    def __init__(
        self, runtime: Door, source: str, assistant_id: str, config: Json | None = None
    ) -> None:
        self.runtime = runtime
        self.source = source
        self.assistant_id = assistant_id
        self.config = config

    async def known(self, key: str) -> IntakeItem | None:
        """Return the ledger row of an item already taken in, or None."""
        return await self.runtime.storage.get_intake(self.source, key)

    async def submit(
        self, key: str, intake: Json, *, origin: str | None = None, summary: Json | None = None
    ) -> tuple[IntakeItem, bool]:
        """Start the run of an item with input `{"intake": intake}` unless the ledger has it.

        Return the ledger row and whether this call started the run (False: another poller, or
        an earlier attempt of this one, already did; the row names that run).
        """
        request = RunRequest(
            assistant_id=self.assistant_id,
            options=RunOptions(input={"intake": intake}, config=self.config or None),
            metadata={"intake_source": self.source, "intake_key": key},
            if_not_exists="create",
        )
        entry = IntakeEntry(self.source, key, origin=origin, summary=summary or {})
        return await self.runtime.runs.create_for_intake(entry, request)

    async def settle(self, key: str) -> IntakeItem:
        """Record that the item has left its source."""
        return await self.runtime.storage.settle_intake(self.source, key)


class IntakeSource(Protocol):
    """Something that yields items to take in: a mailbox, a folder."""

    @property
    def name(self) -> str:
        """The source's name in the ledger and in `triggers`: `mail`, `folder:<name>`."""
        ...

    @property
    def poll_seconds(self) -> float:
        """How long to wait between two polls."""
        ...

    async def poll(self, gate: IntakeGate) -> int:
        """Hand every new item to `gate` and move taken items away; return runs started.

        Raise an AgentOpsError naming the problem when the source cannot be read; the caller
        backs off and polls again.
        """
        ...


@dataclass(frozen=True)
class Trigger:
    """A source and the assistant (or graph id) each of its items runs, with the run config
    they start with (merged over the assistant's, e.g. a policy for this mailbox)."""

    source: IntakeSource
    assistant_id: str
    config: Json | None = None


@dataclass
class TriggerState:
    """How a trigger is doing, for logs and `GET /intake/triggers`."""

    source: str
    assistant_id: str
    polls: int = 0
    started: int = 0
    failures: int = 0
    """Consecutive failed polls; 0 after a good one."""
    last_error: str | None = None
    next_delay: float = 0.0


class IntakeTriggers:
    """Poll every trigger's source in this process, each in its own task, with backoff."""

    def __init__(self, runtime: Door, triggers: Sequence[Trigger], *, max_backoff: float = 60.0):
        self.runtime = runtime
        self.triggers = list(triggers)
        self.max_backoff = max_backoff
        self.states = {t.source.name: TriggerState(t.source.name, t.assistant_id) for t in triggers}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Check that every trigger's assistant exists, then start polling."""
        names = [t.source.name for t in self.triggers]
        if len(set(names)) != len(names):
            raise ConfigError(f"two triggers share a source name: {names}")
        for trigger in self.triggers:
            try:
                await self.runtime.assistants.resolve(trigger.assistant_id)
            except (NotFound, InvalidInput) as exc:  # an unknown UUID, or neither UUID nor graph
                raise ConfigError(f"trigger {trigger.source.name!r}: {exc}") from None
        self._tasks = [
            asyncio.create_task(self._poll_forever(t), name=f"agent-ops trigger {t.source.name}")
            for t in self.triggers
        ]

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks = []

    async def ledger(
        self, *, source: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[IntakeItem]:
        """Return items taken in by triggers (of every process), newest first; a caller sees its
        own tenant's (triggers take items in for the default tenant)."""
        return await self.runtime.storage.list_intake(
            source=source, limit=limit, offset=offset, tenant_id=tenant_filter()
        )

    async def poll_once(self, trigger: Trigger) -> int:
        """Poll one trigger's source now; return how many runs it started."""
        gate = IntakeGate(self.runtime, trigger.source.name, trigger.assistant_id, trigger.config)
        return await trigger.source.poll(gate)

    async def _poll_forever(self, trigger: Trigger) -> None:
        state = self.states[trigger.source.name]
        while True:
            try:
                started = await self.poll_once(trigger)
            except AgentOpsError as exc:
                self._failed(trigger, state, str(exc))
            except Exception as exc:  # a bug or an unforeseen library error: keep polling
                log.exception("trigger %s failed unexpectedly", trigger.source.name)
                self._failed(trigger, state, f"{type(exc).__name__}: {exc}")
            else:
                state.polls += 1
                state.started += started
                if state.failures:
                    log.info("trigger %s recovered", trigger.source.name)
                state.failures, state.last_error = 0, None
                state.next_delay = trigger.source.poll_seconds
            await asyncio.sleep(state.next_delay)

    def _failed(self, trigger: Trigger, state: TriggerState, reason: str) -> None:
        state.polls += 1
        state.failures += 1
        state.last_error = reason
        base = trigger.source.poll_seconds
        state.next_delay = min(self.max_backoff, base * 2 ** min(state.failures, 16))
        log.warning(
            "trigger %s: %s (failure %d; next poll in %.1fs)",
            trigger.source.name,
            reason,
            state.failures,
            state.next_delay,
        )
