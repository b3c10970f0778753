-- agent-ops schema, version 15 (PostgreSQL): one row per escalated approval (a thread's
-- interrupts, named by the digest of their ids). Whoever inserts the row escalates: every process
-- sweeps for overdue approvals, and the primary key lets exactly one of them record and notify
-- (the notification's outbox row is written in the same transaction).

CREATE TABLE approval_escalations (
    tenant_id    text NOT NULL,
    thread_id    text NOT NULL,
    interrupts   text NOT NULL,    -- sha256 of the canonical JSON of the interrupt ids
    escalated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, thread_id, interrupts)
);
