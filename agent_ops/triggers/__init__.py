"""Triggers: every way a workflow starts, as one stored, tenant-owned concept.

A trigger (`cron | webhook | email | folder | sql_threshold`) names the assistant it runs, how
an event becomes the run's input (`mapping`), which thread it feeds (a business-key template,
so two triggers for one invoice feed one thread), and its kind's settings (`spec`). `service`
owns the use cases and the leader-free scheduler; `inbound` checks webhook signatures;
`schedule` holds cron maths and misfire policies; `threshold` the edge-triggered SQL
conditions; `mapping` JSON paths and business keys; `intake` the e-mail and folder sources'
gate; `declared` the triggers of `AGENT_OPS_TRIGGERS_CONFIG`; `cli` the `agent-ops triggers`
commands. Imports `agent_ops.runtime`, `agent_ops.storage`, `agent_ops.governance`; the SQL
connector and the intake sources reach it only as values the composition root passes in.
"""

from __future__ import annotations

from agent_ops.storage import StoredTrigger, TriggerEvent, TriggerKind
from agent_ops.triggers.service import Door, Fired, QueryRunner, TriggerService
from agent_ops.triggers.spec import TriggerCreate, TriggerPatch

# The stored trigger and its events are what routes render: named here, so `server` never
# imports storage.
__all__ = [
    "Door",
    "Fired",
    "QueryRunner",
    "StoredTrigger",
    "TriggerCreate",
    "TriggerEvent",
    "TriggerKind",
    "TriggerPatch",
    "TriggerService",
]
