"""E-mail and folder triggers under the stored model: the existing intake sources (a mailbox,
a folder) polled through a gate that starts each item's run as the trigger says.

The intake ledger stays what makes each message (mailbox/uidvalidity/uid) and each file
(content sha256) start exactly one run across pollers and processes; the trigger adds what the
config-declared intake has not: its input mapping, its business key (an invoice arriving by
e-mail and by folder at once feeds one thread) and that thread's multitask strategy.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from agent_ops.runtime import IntakeGate
from agent_ops.storage import IntakeEntry, IntakeItem, StoredTrigger
from agent_ops.types import Json

if TYPE_CHECKING:
    from agent_ops.triggers.service import Door, TriggerService

__all__ = ["TriggerGate"]


def _hashes(intake: Json) -> list[str | None]:
    """The sha256 of each document's bytes, in order: the same invoice by e-mail and in a
    folder has the same one, so a business key `invoice:{$.sha256[0]}` names one thread for
    both. Kept beside the payload, not in it, so the run input is the intake unchanged."""
    found: list[str | None] = []
    for document in intake.get("documents") or []:
        data = document.get("data_b64") if isinstance(document, dict) else None
        if not isinstance(data, str):  # a text-only document has no bytes to hash
            found.append(None)
            continue
        try:
            found.append(hashlib.sha256(base64.b64decode(data, validate=True)).hexdigest())
        except ValueError:
            found.append(None)
    return found


class TriggerGate(IntakeGate):
    """Where an intake source hands in items for one stored trigger."""

    def __init__(self, runtime: Door, trigger: StoredTrigger, service: TriggerService) -> None:
        super().__init__(runtime, str(trigger.spec["source"]), trigger.assistant_id)
        self.trigger = trigger
        self._service = service

    async def submit(
        self, key: str, intake: Json, *, origin: str | None = None, summary: Json | None = None
    ) -> tuple[IntakeItem, bool]:
        """Start the item's run as the trigger maps it, unless the ledger has the item."""
        event: dict[str, Any] = {
            "trigger": {
                "id": self.trigger.trigger_id,
                "name": self.trigger.name,
                "kind": self.trigger.kind,
            },
            "payload": intake,
            "origin": origin,
            "sha256": _hashes(intake),
        }
        run = await self._service.plan_run(self.trigger, event, f"{self.source}:{key}")
        entry = IntakeEntry(self.source, key, origin=origin, summary=summary or {})
        taken = await self.runtime.storage.create_intake_run(
            entry,
            run_id=run.run_id,
            thread_id=run.thread_id,
            assistant_id=run.assistant_id,
            kwargs=run.kwargs,
            metadata=run.metadata,
            thread_metadata=run.thread_metadata,
            multitask_strategy=run.multitask_strategy,
            tenant_id=run.tenant_id,
            owner=run.owner,
        )
        if taken[1]:
            await self.runtime.storage.record_trigger_fired(self.trigger.trigger_id)
        return taken
