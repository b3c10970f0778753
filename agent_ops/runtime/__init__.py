"""The runtime: the one door into agent-ops for the server, the CLI and triggers.

One module per concept, each owning its rules: `runs` (admission, waiting, cancelling),
`threads` (rows with their checkpoints, state, streams), `assistants`, `crons` (schedule maths
and the scheduler), `items` (the key-value store), `intake` (triggers); `requests` holds the
typed run requests; `periodic` repeats background steps (crons, escalation, triggers) on a
timer; `service.Runtime` composes them with this process's workers. Below the door:
`worker`/`executor` (a run's execution), `streams`/`thread_streams` (the stream bus), `registry`
(graphs from langgraph.json), `store` (LangGraph's BaseStore for graphs, whose `SearchOp` is
also the API's store search).

May import `agent_ops.storage`, `agent_ops.models`, `agent_ops.observability`, `agent_ops.errors`,
`agent_ops.types`, `agent_ops.settings`, `agent_ops.deps` (bound into every graph's config); never `server`, `graphs`, `tools` or `evals`. Other
packages import this surface (`__all__`), not the modules behind it.
"""

from __future__ import annotations

from langgraph.store.base import SearchOp

from agent_ops.governance import Identity, PendingApproval, RequestFacts
from agent_ops.governance.audit import AuditFilter
from agent_ops.governance.audit import view as audit_view
from agent_ops.runtime.assistants import Assistants
from agent_ops.runtime.crons import CronPatch, Crons, check_schedule, next_fire
from agent_ops.runtime.ids import checked_id, new_id
from agent_ops.runtime.intake import IntakeGate, IntakeSource, IntakeTriggers, Trigger, TriggerState
from agent_ops.runtime.items import Items
from agent_ops.runtime.periodic import every
from agent_ops.runtime.registry import GraphRegistry, GraphUnavailable
from agent_ops.runtime.requests import (
    AssistantRequest,
    Breakpoints,
    CronRequest,
    RunOptions,
    RunRequest,
    ThreadRequest,
    durability_of,
    stream_modes,
)
from agent_ops.runtime.runs import RunPlan, Runs
from agent_ops.runtime.service import METRICS_CONTENT_TYPE, Runtime
from agent_ops.runtime.thread_streams import ThreadStreamEvent
from agent_ops.runtime.threads import Threads
from agent_ops.storage import (
    Assistant,
    AssistantChanges,
    AssistantFilter,
    AuditRecord,
    Cron,
    CronFilter,
    IntakeItem,
    ModelDecision,
    Namespaces,
    Page,
    QueueStats,
    Run,
    RunEvent,
    Scoped,
    StoreItem,
    Thread,
    ThreadFilter,
    WebhookMessage,
)

__all__ = [
    "METRICS_CONTENT_TYPE",
    "Assistant",
    "AssistantChanges",
    "AssistantFilter",
    "AssistantRequest",
    "AuditFilter",
    "AuditRecord",
    "Assistants",
    "Breakpoints",
    "Cron",
    "CronFilter",
    "CronPatch",
    "CronRequest",
    "Crons",
    "GraphRegistry",
    "GraphUnavailable",
    "Identity",
    "IntakeGate",
    "IntakeItem",
    "IntakeSource",
    "IntakeTriggers",
    "Items",
    "ModelDecision",
    "Namespaces",
    "Page",
    "PendingApproval",
    "QueueStats",
    "RequestFacts",
    "Run",
    "RunEvent",
    "RunOptions",
    "RunPlan",
    "RunRequest",
    "Runs",
    "Runtime",
    "Scoped",
    "SearchOp",
    "StoreItem",
    "Thread",
    "ThreadStreamEvent",
    "ThreadFilter",
    "ThreadRequest",
    "Threads",
    "Trigger",
    "TriggerState",
    "WebhookMessage",
    "audit_view",
    "check_schedule",
    "checked_id",
    "durability_of",
    "every",
    "new_id",
    "next_fire",
    "stream_modes",
]
