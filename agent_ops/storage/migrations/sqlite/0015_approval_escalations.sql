-- agent-ops schema, version 15 (SQLite): one row per escalated approval (a thread's interrupts,
-- named by the digest of their ids). Whoever inserts the row escalates: every process sweeps for
-- overdue approvals, and the primary key lets exactly one of them record and notify.

CREATE TABLE approval_escalations (
    tenant_id    TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    interrupts   TEXT NOT NULL,    -- sha256 of the canonical JSON of the interrupt ids
    escalated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, thread_id, interrupts)
);
