"""Wake-up channels between the processes on one database. Payloads are ids; listeners re-read
the store, so a lost or duplicated wake-up only costs latency (workers also poll as a safety net).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

RUN_QUEUED: Final = "run_queued"  # a run became claimable (payload: run id)
# A run was queued already claimed by the worker of the process that queued it (the hand-off):
# thread streams follow it as a queued one, workers have nothing to claim (payload: run id).
RUN_STARTED: Final = "run_started"
RUN_DONE: Final = "run_done"  # a run reached a terminal status (payload: run id)
RUN_CANCEL: Final = "run_cancel"  # cancellation was requested for a running run (payload: run id)
RUN_EVENTS: Final = "run_events"  # new stream events were stored (payload: run id)
THREAD_EVENTS: Final = "thread_events"  # a thread event was stored (payload: thread id)
WEBHOOK_QUEUED: Final = "webhook_queued"  # an outbound webhook became due (payload: message id)
ASSISTANT_CHANGED: Final = "assistant_changed"  # updated or deleted (payload: assistant id)
CHANNELS: Final = (
    RUN_QUEUED,
    RUN_STARTED,
    RUN_DONE,
    RUN_CANCEL,
    RUN_EVENTS,
    THREAD_EVENTS,
    WEBHOOK_QUEUED,
    ASSISTANT_CHANGED,
)

Listener = Callable[[str], None]


def queued(status: str) -> str:
    """The wake-up a newly queued run raises: RUN_STARTED if it was queued already running
    (handed to a worker, so no other worker should wake to claim it), else RUN_QUEUED."""
    return RUN_STARTED if status == "running" else RUN_QUEUED


__all__ = [
    "ASSISTANT_CHANGED",
    "CHANNELS",
    "RUN_CANCEL",
    "RUN_DONE",
    "RUN_EVENTS",
    "RUN_QUEUED",
    "RUN_STARTED",
    "THREAD_EVENTS",
    "WEBHOOK_QUEUED",
    "Listener",
    "queued",
]
