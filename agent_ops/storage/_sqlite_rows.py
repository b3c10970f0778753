"""SQLite rows to records: epoch seconds to aware datetimes, JSON text to dicts."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from agent_ops.storage.records import Assistant, Cron, Run, StoreItem, Thread

NS_SEP = "\x1f"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def assistant_from_row(r: sqlite3.Row, version_row: bool = False) -> Assistant:
    return Assistant(
        assistant_id=r["assistant_id"],
        graph_id=r["graph_id"],
        name=r["name"],
        description=r["description"],
        config=loads(r["config"]),
        context=loads(r["context"]),
        metadata=loads(r["metadata"]),
        version=r["version"],
        created_at=_ts(r["created_at"]),
        updated_at=_ts(r["created_at"] if version_row else r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def thread_from_row(r: sqlite3.Row) -> Thread:
    return Thread(
        thread_id=r["thread_id"],
        status=r["status"],
        metadata=loads(r["metadata"]),
        values=loads(r["values"]),
        interrupts=loads(r["interrupts"]),
        error=r["error"],
        created_at=_ts(r["created_at"]),
        updated_at=_ts(r["updated_at"]),
        state_updated_at=_ts(r["state_updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )


def run_from_row(r: sqlite3.Row) -> Run:
    return Run(
        run_id=r["run_id"],
        thread_id=r["thread_id"],
        assistant_id=r["assistant_id"],
        status=r["status"],
        metadata=loads(r["metadata"]),
        kwargs=loads(r["kwargs"]),
        multitask_strategy=r["multitask_strategy"],
        stateless=bool(r["stateless"]),
        attempt=r["attempt"],
        worker_id=r["worker_id"],
        lease_expires_at=ts(r["lease_expires_at"]),
        cancel_action=r["cancel_action"],
        error=r["error"],
        not_before=_ts(r["not_before"]),
        created_at=_ts(r["created_at"]),
        updated_at=_ts(r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
        output=loads(r["output"]),
    )


def item_from_row(r: sqlite3.Row) -> StoreItem:
    return StoreItem(
        namespace=tuple(r["namespace"].split(NS_SEP)),
        key=r["key"],
        value=loads(r["value"]),
        created_at=_ts(r["created_at"]),
        updated_at=_ts(r["updated_at"]),
        expires_at=ts(r["expires_at"]),
    )


def cron_from_row(r: sqlite3.Row) -> Cron:
    return Cron(
        cron_id=r["cron_id"],
        assistant_id=r["assistant_id"],
        thread_id=r["thread_id"],
        schedule=r["schedule"],
        payload=loads(r["payload"]),
        metadata=loads(r["metadata"]),
        next_run_date=ts(r["next_run_date"]),
        end_time=ts(r["end_time"]),
        enabled=bool(r["enabled"]),
        created_at=_ts(r["created_at"]),
        updated_at=_ts(r["updated_at"]),
        tenant_id=r["tenant_id"],
        owner=r["owner"],
    )
