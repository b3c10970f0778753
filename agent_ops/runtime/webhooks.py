"""Webhooks: POST a finished run to the URL its request named, retrying transient failures."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from agent_ops.errors import InvalidInput
from agent_ops.runtime.admission import resolve_public
from agent_ops.runtime.serde import dumps
from agent_ops.storage import Run

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 2.0, 5.0)


def webhook_body(run: Run) -> dict[str, Any]:
    """The run as the LangGraph server posts it: its fields plus the final values or error."""
    body: dict[str, Any] = {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "status": run.status,
        "metadata": run.metadata,
        "kwargs": run.kwargs,
        "multitask_strategy": run.multitask_strategy,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "attempt": run.attempt,
    }
    output = run.output or {}
    if "__error__" in output:
        body["error"] = output["__error__"]
    else:
        body["values"] = output
    return body


async def deliver(
    url: str,
    run: Run,
    *,
    allow_private: bool = False,
    client: httpx.AsyncClient | None = None,
) -> bool:
    """POST the run; retry connection errors, 429 and 5xx; return whether it was accepted.
    A URL that is (or now resolves to) an address the run may not call is logged, not posted."""
    try:
        await resolve_public(url, allow_private=allow_private)
    except (InvalidInput, OSError) as exc:
        log.error("webhook for run %s not delivered: %s", run.run_id, exc)
        return False
    own = client is None
    http = client or httpx.AsyncClient(timeout=10.0)
    content = dumps(webhook_body(run))
    try:
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS), start=1):
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await http.post(
                    url, content=content, headers={"content-type": "application/json"}
                )
            except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                log.warning("webhook for run %s: attempt %d failed: %s", run.run_id, attempt, exc)
                continue
            if response.status_code < 400:
                return True
            if response.status_code != 429 and response.status_code < 500:
                log.warning(
                    "webhook for run %s refused with %d; not retrying",
                    run.run_id,
                    response.status_code,
                )
                return False
            log.warning(
                "webhook for run %s: attempt %d got %d", run.run_id, attempt, response.status_code
            )
        log.error("webhook for run %s gave up after %d attempts", run.run_id, len(RETRY_DELAYS) + 1)
        return False
    finally:
        if own:
            await http.aclose()
