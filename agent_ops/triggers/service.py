"""Triggers as a runtime concept: created, read, changed and deleted in their tenant, fired as
runs, and scheduled without a leader.

Every way a trigger fires ends in `fire`: the event document is mapped to the run input, the
business key to the thread (one key, one thread; the trigger's `multitask_strategy` decides
what a second event on a busy thread does), and one storage transaction writes the ledger row,
the claim of a due time and the run together. A firing whose target fails records the error on
the trigger and still moves its schedule on, so later events fire.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from agent_ops.errors import AgentOpsError, Conflict, InvalidInput, NotFound
from agent_ops.governance import acting_as, bind_caller, caller, hidden, stamp, tenant_filter
from agent_ops.governance import visible as _visible
from agent_ops.runtime import (
    Assistants,
    IntakeSource,
    RunOptions,
    RunRequest,
    Runs,
    checked_id,
    every,
    new_id,
)
from agent_ops.storage import (
    Claim,
    Firing,
    FiringResult,
    NewRun,
    NewTrigger,
    Observed,
    StaleState,
    Storage,
    StoredTrigger,
    TriggerEvent,
)
from agent_ops.triggers import inbound
from agent_ops.triggers.intake import TriggerGate
from agent_ops.triggers.mapping import build_input, business_thread_id, render_key
from agent_ops.triggers.schedule import next_fire, step_for
from agent_ops.triggers.spec import TriggerCreate, TriggerPatch
from agent_ops.triggers.threshold import evaluate, parse_condition
from agent_ops.types import Json
from agent_ops.values import check_storable

__all__ = ["Door", "Fired", "QueryRunner", "TriggerService"]

log = logging.getLogger(__name__)

QueryRunner = Callable[[str, str], Awaitable[Sequence[dict[str, Any]]]]
"""Run the named query `query` of the SQL connector `connection`; return its rows."""

_SCHEDULED = ("cron", "sql_threshold", "email", "folder")
INTAKE_POLL = "* * * * * */10"
"""How often an e-mail or folder trigger polls its source unless its `schedule` says."""


class Door(Protocol):
    """What triggers need of the runtime: its store, its runs and its assistants."""

    storage: Storage
    runs: Runs
    assistants: Assistants


@dataclass(frozen=True, slots=True)
class Fired:
    """The outcome of one event: its ledger row and whether this call started its run."""

    event: TriggerEvent
    started: bool


class TriggerService:
    """The triggers of one runtime."""

    def __init__(
        self,
        runtime: Door,
        *,
        queries: QueryRunner | None = None,
        sources: Mapping[str, IntakeSource] | None = None,
        misfire_grace: float = 60.0,
    ) -> None:
        self._runtime = runtime
        self._storage = runtime.storage
        self._queries = queries
        self._sources = dict(sources or {})
        self._grace = timedelta(seconds=misfire_grace)

    # -- managing ---------------------------------------------------------------------------------
    async def create(self, body: TriggerCreate) -> StoredTrigger:
        """Store a trigger of the caller's tenant; its secret (webhooks) is made here."""
        body.check(body.kind)
        assistant_id = await self._assistant(body.assistant_id)
        spec = body.spec()
        if body.kind in ("email", "folder") and spec.get("schedule") is None:
            spec["schedule"] = INTAKE_POLL
        now = datetime.now(UTC)
        next_due = _first_due(body.kind, spec, now)
        return await self._storage.create_trigger(
            NewTrigger(
                trigger_id=new_id(),
                name=body.name,
                kind=body.kind,
                assistant_id=assistant_id,
                spec=spec,
                input_mapping=body.input_mapping,
                business_key=body.business_key,
                multitask_strategy=body.multitask_strategy or "enqueue",
                enabled=body.enabled if body.enabled is not None else True,
                secret=inbound.new_secret() if body.kind == "webhook" else None,
                next_due=next_due,
                **stamp(),
            )
        )

    async def search(self, *, kind: str | None = None) -> list[StoredTrigger]:
        return await self._storage.list_triggers(tenant_id=tenant_filter(), kind=kind)

    async def get(self, trigger_id: str) -> StoredTrigger:
        """Return a trigger of the caller's tenant; NotFound for another tenant's."""
        trigger = await self._storage.get_trigger(checked_id(trigger_id, "trigger_id"))
        if not _visible(trigger.tenant_id, trigger.owner):
            raise hidden("trigger", trigger_id)
        return trigger

    async def update(self, trigger_id: str, body: TriggerPatch) -> StoredTrigger:
        """Change the fields given; a new schedule or re-enabling moves `next_due` past now."""
        trigger = await self.get(trigger_id)
        body.check(trigger.kind)
        merged = TriggerPatch.model_validate(
            {**trigger.spec, **body.model_dump(exclude_unset=True)}
        )
        merged.check(trigger.kind)
        changes: dict[str, Any] = {
            k: v
            for k, v in body.model_dump(exclude_unset=True).items()
            if k in ("name", "enabled", "input_mapping", "business_key", "multitask_strategy")
        }
        if body.assistant_id is not None:
            changes["assistant_id"] = await self._assistant(body.assistant_id)
        spec = {**trigger.spec, **body.spec()}
        if spec != trigger.spec:
            changes["spec"] = spec
        rescheduled = "schedule" in body.spec() or "timezone" in body.spec()
        if trigger.kind in _SCHEDULED and (rescheduled or (body.enabled and not trigger.enabled)):
            # Time spent disabled is not a misfire: the next firing is the next one from now.
            changes["next_due"] = _first_due(trigger.kind, spec, datetime.now(UTC))
        if trigger.kind == "sql_threshold" and "condition" in body.spec():
            changes["state"] = {}
        return await self._storage.update_trigger(trigger_id, changes) if changes else trigger

    async def delete(self, trigger_id: str) -> None:
        await self.get(trigger_id)
        await self._storage.delete_trigger(trigger_id)

    async def events(self, trigger_id: str) -> list[TriggerEvent]:
        await self.get(trigger_id)
        return await self._storage.trigger_events(trigger_id)

    # -- firing -----------------------------------------------------------------------------------
    async def fire(
        self,
        trigger: StoredTrigger,
        payload: Any,
        *,
        event_key: str,
        extra: Mapping[str, Any] | None = None,
        claim: Claim | None = None,
        observed: Observed | None = None,
    ) -> FiringResult:
        """Start the trigger's run for one event unless the ledger has `event_key`; with a
        claim or an observation, only if this call wins it. The target's failure is recorded
        on the trigger and raised (after the claim, if any, is made without the run)."""
        event: Json = {
            "trigger": {"id": trigger.trigger_id, "name": trigger.name, "kind": trigger.kind},
            "payload": payload,
            "fired_at": datetime.now(UTC).isoformat(),
            **(extra or {}),
        }
        try:
            run = await self.plan_run(trigger, event, event_key)
            return await self._storage.fire_trigger(
                Firing(trigger.trigger_id, claim, observed, event_key, run)
            )
        except StaleState:
            raise
        except AgentOpsError as exc:
            await self._storage.record_trigger_error(trigger.trigger_id, str(exc))
            if claim is not None or observed is not None:
                # The due time (or the poll) is used up even though its run could not start.
                await self._storage.fire_trigger(Firing(trigger.trigger_id, claim, observed))
            raise

    async def fire_now(self, trigger_id: str, payload: Any = None) -> Fired:
        """Fire a trigger by hand (API, CLI): one new event with its own key."""
        trigger = await self.get(trigger_id)
        check_storable(payload, "body")
        result = await self.fire(trigger, payload, event_key=f"manual:{new_id()}")
        assert result.event is not None
        return Fired(result.event, result.started)

    async def receive_webhook(
        self, trigger_id: str, body: bytes, headers: Mapping[str, str]
    ) -> Fired:
        """Take in one webhook delivery: its signature, payload and idempotency key checked,
        then fired. A trigger that is missing, not a webhook or disabled is NotFound/Conflict."""
        trigger = await self._storage.get_trigger(checked_id(trigger_id, "trigger_id"))
        if trigger.kind != "webhook":
            raise NotFound(f"trigger {trigger_id} is a {trigger.kind} trigger, not a webhook")
        inbound.verify(trigger, body, headers)
        if not trigger.enabled:
            raise Conflict(f"trigger {trigger_id} is disabled")
        payload = check_storable(inbound.parse_payload(trigger, body), "body")
        key = inbound.event_key(trigger, payload, headers)
        wanted = {k.lower(): v for k, v in headers.items() if k.lower().startswith("webhook-")}
        result = await self.fire(trigger, payload, event_key=key, extra={"headers": wanted})
        assert result.event is not None
        return Fired(result.event, result.started)

    # -- scheduling -------------------------------------------------------------------------------
    async def tick(self, now: datetime | None = None) -> int:
        """Fire every due scheduled trigger; return how many firings this process won. Safe in
        any number of processes at once: each due time is claimed by one."""
        now = now or datetime.now(UTC)
        won = 0
        for _ in range(100):  # catch-up moves one due time per claim; bound one tick's work
            due = await self._storage.due_triggers(now=now)
            if not due:
                break
            progressed = False
            for trigger in due:
                try:
                    won += await self._step(trigger, now)
                    progressed = True
                except StaleState:
                    progressed = True
                except AgentOpsError as exc:
                    progressed = True
                    log.warning("trigger %s (%s): %s", trigger.trigger_id, trigger.name, exc)
            if not progressed:
                break
        return won

    async def _step(self, trigger: StoredTrigger, now: datetime) -> int:
        try:
            step = step_for(trigger, now, self._grace)
        except InvalidInput as exc:
            # A schedule with no time left: stop it (next_due NULL) and say why.
            assert trigger.next_due is not None
            await self._storage.record_trigger_error(trigger.trigger_id, str(exc))
            await self._storage.fire_trigger(
                Firing(trigger.trigger_id, Claim(trigger.next_due, None))
            )
            return 0
        claim = Claim(step.due, step.following)
        if trigger.kind == "sql_threshold":
            return await self._poll(trigger, claim)
        if trigger.kind in ("email", "folder"):
            return await self._take_in(trigger, claim)
        if not step.fire:
            result = await self._storage.fire_trigger(Firing(trigger.trigger_id, claim))
            if result.claimed:
                log.info("trigger %s missed %s; skipped (misfire: skip)", trigger.name, step.due)
            return 0
        result = await self.fire(
            trigger,
            None,
            event_key=f"due:{step.due.isoformat()}",
            extra={"due": step.due.isoformat(), "late": step.late},
            claim=claim,
        )
        return int(result.claimed and result.started)

    async def _poll(self, trigger: StoredTrigger, claim: Claim) -> int:
        # Claim the poll first (alone), so one process runs the query per due time.
        if not (await self._storage.fire_trigger(Firing(trigger.trigger_id, claim))).claimed:
            return 0
        if self._queries is None:
            raise InvalidInput(f"trigger {trigger.name}: no SQL connectors are configured")
        spec = trigger.spec
        try:
            rows = await self._queries(str(spec["connection"]), str(spec["query"]))
            result = evaluate(
                parse_condition(str(spec["condition"])),
                rows,
                trigger.state,
                float(spec.get("hysteresis") or 0.0),
            )
        except AgentOpsError as exc:
            await self._storage.record_trigger_error(trigger.trigger_id, str(exc))
            raise
        observed = Observed(trigger.state_version, result.state, result.value, result.rows)
        if not result.fire:
            await self._storage.fire_trigger(Firing(trigger.trigger_id, observed=observed))
            return 0
        fired = await self.fire(
            trigger,
            {"value": result.value, "rows": result.rows, "previous": trigger.state.get("value")},
            event_key=f"poll:{claim.due.isoformat()}",
            extra={"value": result.value, "rows": result.rows},
            observed=observed,
        )
        return int(fired.started)

    async def _take_in(self, trigger: StoredTrigger, claim: Claim) -> int:
        if not (await self._storage.fire_trigger(Firing(trigger.trigger_id, claim))).claimed:
            return 0
        name = str(trigger.spec["source"])
        source = self._sources.get(name)
        try:
            if source is None:
                raise InvalidInput(
                    f"source: no intake source {name!r} in the connectors config "
                    f"(configured: {sorted(self._sources)})"
                )
            return await source.poll(TriggerGate(self._runtime, trigger, self))
        except AgentOpsError as exc:
            await self._storage.record_trigger_error(trigger.trigger_id, str(exc))
            raise

    async def run_forever(self, interval: float) -> None:
        """Tick every `interval` seconds until cancelled."""
        await every(interval, self.tick, "trigger scheduler tick failed")

    # -- helpers ----------------------------------------------------------------------------------
    async def _assistant(self, assistant_id: str) -> str:
        try:
            assistant = await self._runtime.assistants.resolve(assistant_id)
        except (NotFound, InvalidInput) as exc:  # an unknown UUID, or neither UUID nor graph
            raise InvalidInput(f"assistant_id: {exc}") from None
        return assistant.assistant_id

    async def plan_run(self, trigger: StoredTrigger, event: Json, event_key: str) -> NewRun:
        """The run one event of the trigger queues: input mapped, thread by business key."""
        key = render_key(trigger.business_key, event) if trigger.business_key else None
        thread_id = business_thread_id(trigger.tenant_id, key) if key is not None else new_id()
        request = RunRequest(
            assistant_id=trigger.assistant_id,
            options=RunOptions(
                input=build_input(trigger.input_mapping, event), config=trigger.spec.get("config")
            ),
            metadata={
                "trigger_id": trigger.trigger_id,
                "trigger_kind": trigger.kind,
                "trigger_event": event_key,
                **({"business_key": key} if key is not None else {}),
            },
            multitask_strategy=trigger.multitask_strategy,
            if_not_exists="create",
        )
        before = caller()
        # A firing acts as the trigger's creator: its run and thread land in its tenant.
        bind_caller(acting_as(trigger.tenant_id, trigger.owner, "cron"))
        try:
            plan = await self._runtime.runs.plan(thread_id, request)
        finally:
            bind_caller(before)
        return replace(
            NewRun(**plan.row()),
            multitask_strategy=plan.multitask_strategy,
            if_not_exists=plan.if_not_exists,
            **plan.caller,
        )


def _first_due(kind: str, spec: Json, now: datetime) -> datetime | None:
    if kind not in _SCHEDULED:
        return None
    try:
        return next_fire(str(spec["schedule"]), now, spec.get("timezone"))
    except InvalidInput as exc:
        raise InvalidInput(f"schedule: {exc}") from None
