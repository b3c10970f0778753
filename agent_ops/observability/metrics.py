"""Prometheus metrics of this process; queue gauges are read from the store at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

RUNS_FINISHED = Counter(
    "agent_ops_runs_finished",
    "Runs this process finished, by final status",
    ["status"],
    registry=REGISTRY,
)
RUN_DURATION = Histogram(
    "agent_ops_run_duration_seconds",
    "Wall time from claim to final status",
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
RUNS_BY_STATUS = Gauge(
    "agent_ops_runs", "Runs in the store, by status", ["status"], registry=REGISTRY
)
QUEUE_DEPTH = Gauge("agent_ops_queue_depth", "Runs waiting to be claimed", registry=REGISTRY)
QUEUE_OLDEST_AGE = Gauge(
    "agent_ops_queue_oldest_pending_seconds",
    "Age of the oldest claimable pending run",
    registry=REGISTRY,
)
WORKERS = Gauge("agent_ops_workers", "Worker processes with a recent heartbeat", registry=REGISTRY)
HTTP_REQUESTS = Counter(
    "agent_ops_http_requests",
    "HTTP requests served",
    ["method", "route", "status"],
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "agent_ops_webhook_attempts",
    "Outbound webhook attempts this process made, by outcome (delivered, retry, failed)",
    ["outcome"],
    registry=REGISTRY,
)
