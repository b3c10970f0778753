"""The core vocabulary of the API, named once and spelled as langgraph-sdk's `schema.py` spells it.

Holds type aliases and the constant sets derived from them; imports nothing of agent-ops, so
every package (storage, runtime, server, graphs, tools) may import it.
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

# The API's vocabulary that `agent_ops` re-exports to every package (its `__all__` adds these);
# the rest here (tenancy defaults, status sets, sort columns) serves agent_ops' own modules.
__all__ = [
    "STREAM_MODES",
    "AssistantSortBy",
    "Backend",
    "CancelAction",
    "CancelStatus",
    "CronSortBy",
    "DisconnectMode",
    "Durability",
    "IfNotExists",
    "Json",
    "MultitaskStrategy",
    "OnCompletionBehavior",
    "OnConflictBehavior",
    "PruneStrategy",
    "RunStatus",
    "SortOrder",
    "StreamMode",
    "ThreadSortBy",
    "ThreadStatus",
    "ThreadStreamMode",
]

Json = dict[str, Any]

Backend = Literal["sqlite", "postgres"]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
StreamMode = Literal[
    "values",
    "messages",
    "updates",
    "events",
    "tasks",
    "checkpoints",
    "debug",
    "custom",
    "messages-tuple",
]
ThreadStreamMode = Literal["run_modes", "lifecycle", "state_update"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
DisconnectMode = Literal["cancel", "continue"]
OnConflictBehavior = Literal["raise", "do_nothing"]
OnCompletionBehavior = Literal["delete", "keep"]
Durability = Literal["sync", "async", "exit"]
IfNotExists = Literal["create", "reject"]
CancelAction = Literal["interrupt", "rollback"]
SortOrder = Literal["asc", "desc"]
PruneStrategy = Literal["delete", "keep_latest"]
TokenSource = Literal["provider", "counted", "none"]
"""Where a model decision's token numbers come from: the endpoint's reported usage, agent-ops's
count with the model's own tokenizer (the local model's streamed answers), or nowhere (a failed
attempt, a rule, a person, an endpoint that reported none)."""
ModelErrorKind = Literal[
    "queue_timeout",
    "generation_timeout",
    "connection_refused",
    "server_died",
    "http_status",
    "invalid_json",
    "schema_invalid",
    "empty_answer",
    "error",
]
"""Why a model attempt failed: it waited too long for its turn at the model, or its generation ran
past the time limit; the endpoint refused the connection, or dropped it mid-answer (its process
died); it answered with an HTTP error status; its answer was not JSON, did not fit the schema or
was empty; or anything else (`error`, the exception's text says what)."""
AssistantSortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]
ThreadSortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
CronSortBy = Literal[
    "cron_id", "assistant_id", "thread_id", "created_at", "updated_at", "next_run_date", "end_time"
]

ASSISTANT_SORT_COLUMNS: Final = frozenset(get_args(AssistantSortBy))
THREAD_SORT_COLUMNS: Final = frozenset(get_args(ThreadSortBy))
CRON_SORT_COLUMNS: Final = frozenset(get_args(CronSortBy))

STREAM_MODES: Final[frozenset[str]] = frozenset(get_args(StreamMode))
RUN_STATUSES: Final[tuple[RunStatus, ...]] = get_args(RunStatus)

TERMINAL_RUN_STATUSES: Final[frozenset[RunStatus]] = frozenset(
    {"success", "error", "timeout", "interrupted"}
)
INFLIGHT_RUN_STATUSES: Final[frozenset[RunStatus]] = frozenset({"pending", "running"})
CancelStatus = Literal["pending", "running", "all"]
"""Which of a thread's runs `POST /runs/cancel` stops (`all`: every in-flight one)."""

DEFAULT_TENANT: Final = "default"
DEFAULT_OWNER: Final = "system"
