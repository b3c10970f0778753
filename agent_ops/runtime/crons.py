"""Crons: scheduled runs, their schedule maths, and the scheduler that fires them.

`Crons` owns the use cases (a cron's schedule and time zone are checked and its next fire time
computed here, once); `CronScheduler` turns due crons into runs, each due firing exactly once
across processes. Every process with workers runs one scheduler; `claim_due_crons` advances a due cron to its next
fire time in the same transaction that hands it out, so a firing is claimed by one process only.
`CronPatch` is a cron's changes as the API's PATCH body parses them and `Crons.update` reads
them, a field not sent told from one sent as null by its type.
Schedules are standard 5-field cron expressions (a 6th field, seconds, is accepted too),
evaluated in the cron's time zone (UTC unless its payload names one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import MISSING, ConfigDict, field_validator

from agent_ops.errors import InvalidInput
from agent_ops.governance import acting_as, audit, authz, bind_caller, stamp
from agent_ops.runtime.admission import check_run_sizes, check_webhook
from agent_ops.runtime.assistants import Assistants
from agent_ops.runtime.ids import checked_id, new_id
from agent_ops.runtime.requests import (
    Breakpoints,
    CronRequest,
    RunRequest,
    check_configurable,
    run_of_cron_payload,
)
from agent_ops.storage import (
    ANY_CRON,
    FIRST_PAGE,
    Cron,
    CronChanges,
    CronFilter,
    NewCron,
    Page,
    Run,
    Storage,
)
from agent_ops.types import Durability, Json, OnCompletionBehavior, StreamMode
from agent_ops.values import DEFAULT_LIMITS, Limits, StorableBody

log = logging.getLogger(__name__)

CreateRun = Callable[[str | None, RunRequest], Awaitable[Run]]

# Fields of a cron's changes kept on its row rather than in its payload.
_ROW_FIELDS = frozenset({"schedule", "end_time", "enabled"})


class CronPatch(StorableBody):
    """A cron's changes: the API's PATCH body, and the typed request the runtime reads.

    A field the client left out is `MISSING` and keeps its value; one it sent as null is None,
    which each field below says what it does with. The type says which, so the runtime reads
    every field by a name the type checker sees.
    """

    # The docstrings below describe the fields in the API's schema (/docs, /openapi.json).
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    schedule: str | None | MISSING = MISSING
    """A new schedule (its next fire time is computed again); null keeps the current one."""
    enabled: bool | None | MISSING = MISSING
    """Turning the cron on computes its next fire time again; null keeps it as it is."""
    end_time: datetime | None | MISSING = MISSING
    """After this the cron fires no more; null clears it (as the sdk's `end_time=None`)."""
    timezone: str | None | MISSING = MISSING
    """The schedule's time zone (its next fire time is computed again); null: UTC again."""
    metadata: Json | None | MISSING = MISSING
    """Merged into the cron's metadata and set as its runs'; null clears only the runs'."""
    webhook: str | None | MISSING = MISSING
    """Checked now, not at each firing, where the cron could only log that it cannot start."""

    # What each firing's run is started with; null resets an option to its default.
    input: Any | MISSING = MISSING
    """The graph's input."""
    config: Json | None | MISSING = MISSING
    """The run's config (`configurable` keys starting with `__` are the server's: refused)."""
    context: Json | None | MISSING = MISSING
    """The graph's static context."""
    interrupt_before: Breakpoints | None | MISSING = MISSING
    """The nodes to interrupt before (`*`: every node)."""
    interrupt_after: Breakpoints | None | MISSING = MISSING
    """The nodes to interrupt after (`*`: every node)."""
    on_run_completed: OnCompletionBehavior | None | MISSING = MISSING
    """A stateless cron's thread after each run: `delete` or `keep`."""
    stream_mode: tuple[StreamMode, ...] | None | MISSING = MISSING
    """One stream mode or a list of them (null: `values`)."""
    stream_subgraphs: bool | None | MISSING = MISSING
    """Whether subgraphs' events are streamed too."""
    stream_resumable: bool | None | MISSING = MISSING
    """Whether the stream is kept for a client to resume."""
    durability: Durability | None | MISSING = MISSING
    """When the run's checkpoints are written: `sync`, `async` or `exit`."""

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # one mode, or a list of them

    def sent(self) -> Json:
        """Return the fields the client sent, by name (as the audit and the payload keep them)."""
        return self.model_dump()  # a MISSING field is left out


def check_schedule(schedule: str, timezone: str | None = None) -> None:
    """Raise InvalidInput naming the problem if the schedule or time zone is unusable."""
    if not croniter.is_valid(schedule, second_at_beginning=False):
        raise InvalidInput(f"schedule {schedule!r} is not a valid cron expression")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"timezone {timezone!r} is not a known IANA time zone") from None


def next_fire(schedule: str, after: datetime, timezone: str | None = None) -> datetime:
    """Return the first fire time strictly after `after` (aware, UTC)."""
    zone = ZoneInfo(timezone) if timezone else UTC
    local = after.astimezone(zone)
    following: datetime = croniter(schedule, local).get_next(datetime)
    return following.astimezone(UTC)


def _following(cron: Cron) -> datetime | None:
    base = max(cron.next_run_date or datetime.now(UTC), datetime.now(UTC))
    nxt = next_fire(cron.schedule, base, cron.payload.get("timezone"))
    if cron.end_time is not None and nxt > cron.end_time:
        return None
    return nxt


def _fired(cron: Cron) -> RunRequest:
    """Return the run request of one firing of a due cron."""
    request = run_of_cron_payload(cron.payload)
    fire_time = cron.next_run_date.isoformat() if cron.next_run_date else None
    metadata = {**(request.metadata or {}), "cron_id": cron.cron_id, "cron_fire_time": fire_time}
    request = replace(request, metadata=metadata)
    if cron.thread_id is not None and request.multitask_strategy is None:
        # Firings on one thread queue behind each other rather than being rejected as busy.
        request = replace(request, multitask_strategy="enqueue")
    if cron.thread_id is None:
        # A stateless firing's thread goes (or stays) as the cron says: `keep` must keep it.
        on_completion: OnCompletionBehavior = (
            "keep" if cron.payload.get("on_run_completed") == "keep" else "delete"
        )
        request = replace(request, options=replace(request.options, on_completion=on_completion))
    return request


class CronScheduler:
    """Fires due crons as runs at each `tick` (the runtime ticks it every second)."""

    def __init__(self, storage: Storage, create_run: CreateRun) -> None:
        self._storage = storage
        self._create_run = create_run

    async def tick(self) -> int:
        """Fire every due cron once; return how many fired."""
        due = await self._storage.claim_due_crons(now=datetime.now(UTC), next_run=_following)
        for cron in due:
            try:
                # A firing acts as the cron's creator: its run lands in the cron's tenant.
                bind_caller(acting_as(cron.tenant_id, cron.owner, "cron"))
                run = await self._create_run(cron.thread_id, _fired(cron))
                log.info("cron %s fired run %s", cron.cron_id, run.run_id)
            except Exception as exc:
                log.warning("cron %s could not start its run: %s", cron.cron_id, exc)
            finally:
                bind_caller(None)
        return len(due)


class Crons:
    """The crons of one store: created, read, changed and deleted with their schedule checked."""

    def __init__(
        self,
        storage: Storage,
        assistants: Assistants,
        *,
        limits: Limits = DEFAULT_LIMITS,
        webhook_allow_private: bool = False,
    ) -> None:
        self._storage = storage
        self._limits = limits
        self._assistants = assistants
        self._webhook_allow_private = webhook_allow_private

    async def create(self, thread_id: str | None, request: CronRequest) -> Cron:
        """Schedule runs of an assistant, on a thread (which must exist) or stateless."""
        asked: Json = {
            "payload": request.payload(),
            "schedule": request.schedule,
            "thread_id": thread_id,
            "end_time": request.end_time,
            "metadata": dict(request.run.metadata or {}),
        }
        await authz.check("crons", "create", asked)  # governance: may set metadata
        request = replace(request, run=replace(request.run, metadata=asked.get("metadata")))
        check_schedule(request.schedule, request.timezone)
        self._limits.metadata(request.run.metadata)
        check_run_sizes(self._limits, request.run.options)
        self._check_webhook(request.run.options.webhook)
        assistant = await self._assistants.resolve(request.run.assistant_id)
        if thread_id is not None:
            await self._storage.get_thread(thread_id)
            asked = {"thread_id": thread_id, "assistant_id": assistant.assistant_id, "metadata": {}}
            await authz.guard_run(self._storage, asked)  # governance: its firings run there
        request = replace(request, run=replace(request.run, assistant_id=assistant.assistant_id))
        if thread_id is None and request.on_run_completed is None:
            request = replace(request, on_run_completed="delete")  # the LangGraph server's default
        new = NewCron(
            cron_id=new_id(),
            assistant_id=assistant.assistant_id,
            thread_id=thread_id,
            schedule=request.schedule,
            payload=request.payload(),
            metadata=request.run.metadata or {},
            next_run_date=next_fire(request.schedule, datetime.now(UTC), request.timezone),
            end_time=request.end_time,
            enabled=request.enabled,
            **stamp(),
        )
        cron = await self._storage.create_cron(new)
        await audit.record(  # audit
            self._storage,
            "cron.create",
            "cron",
            cron.cron_id,
            payload=cron.payload,
            detail={"schedule": cron.schedule, "thread_id": thread_id},
            tenant=cron.tenant_id,
        )
        return cron

    async def get(self, cron_id: str, *, doing: str = "read") -> Cron:
        found = await self._storage.get_cron(checked_id(cron_id, "cron_id"))
        await authz.guard_cron(self._storage, doing, {"cron_id": cron_id})  # governance
        return found

    async def update(self, cron_id: str, patch: CronPatch) -> Cron:
        """Apply the fields a client sent; a new schedule or time zone, or turning the cron
        on, computes its next fire time again."""
        current = await self.get(cron_id, doing="update")
        given = patch.schedule if isinstance(patch.schedule, str) else MISSING
        schedule = current.schedule if given is MISSING else given
        timezone = current.payload.get("timezone") if patch.timezone is MISSING else patch.timezone
        check_schedule(schedule, timezone)
        metadata = None if patch.metadata is MISSING else patch.metadata
        self._limits.merged_metadata(current.metadata, metadata)
        for field, value in (("input", patch.input), ("context", patch.context)):
            self._limits.input(None if value is MISSING else value, field)
        if isinstance(patch.config, dict):
            check_configurable(patch.config)
        if isinstance(patch.webhook, str):
            self._check_webhook(patch.webhook)
        sent = patch.sent()
        payload = {**current.payload, **{k: v for k, v in sent.items() if k not in _ROW_FIELDS}}
        reschedule = patch.schedule is not MISSING or patch.timezone is not MISSING
        columns = CronChanges(
            schedule=given,
            payload=payload,
            metadata=metadata or {},
            end_time=patch.end_time,
            enabled=MISSING if patch.enabled is None else patch.enabled,
            next_run_date=next_fire(schedule, datetime.now(UTC), timezone)
            if reschedule or patch.enabled is True
            else MISSING,
        )
        changed = await self._storage.update_cron(current.cron_id, columns)
        await audit.record(  # audit
            self._storage, "cron.update", "cron", cron_id, payload=sent, tenant=changed.tenant_id
        )
        return changed

    def _check_webhook(self, url: str | None) -> None:
        # Refused now, not at each firing, where the cron would only log that it cannot start.
        if url is not None:
            check_webhook(url, allow_private=self._webhook_allow_private)

    async def delete(self, cron_id: str) -> None:
        await self.get(cron_id, doing="delete")  # governance: an app's handler may hide it
        await self._storage.delete_cron(checked_id(cron_id, "cron_id"))
        await audit.record(self._storage, "cron.delete", "cron", cron_id)  # audit

    async def search(self, filter: CronFilter, page: Page = FIRST_PAGE) -> list[Cron]:
        """Return the crons matching every given filter (metadata too, in storage, with an
        app's handler filter added to it: the same governed search as threads and assistants)."""
        if filter.thread_id:
            checked_id(filter.thread_id, "thread_id")
        return await authz.governed_search("crons", filter, page, self._search)

    async def count(self, filter: CronFilter = ANY_CRON) -> int:
        """Count the crons of an assistant or thread: `filter.metadata` is not matched, as
        LangGraph's server counts (an app's handler filter is)."""
        return await authz.governed_count("crons", replace(filter, metadata=None), self._count)

    async def _search(self, filter: CronFilter, page: Page) -> list[Cron]:
        return await self._storage.search_crons(await self._resolved(filter), page)

    async def _count(self, filter: CronFilter) -> int:
        return await self._storage.count_crons(await self._resolved(filter))

    async def _resolved(self, filter: CronFilter) -> CronFilter:
        """The filter with its assistant named by id (a graph id stands for its default one);
        a count takes `thread_id` as given: one that is not a UUID counts nothing."""
        if not filter.assistant_id:
            return filter
        assistant = await self._assistants.resolve(filter.assistant_id)
        return replace(filter, assistant_id=assistant.assistant_id)
