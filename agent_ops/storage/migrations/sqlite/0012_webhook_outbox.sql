-- agent-ops schema, version 12 (SQLite): the outbox of outbound webhooks, written in the
-- transaction that ends a run; any process leases due rows (writers are serialised, so the
-- lease is a plain conditional UPDATE). No foreign key to runs: stateless runs are deleted.

CREATE TABLE webhook_outbox (
    message_id      TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL,
    thread_id       TEXT NOT NULL,
    tenant_id       TEXT NOT NULL DEFAULT 'default',
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_owner     TEXT,
    lease_until     REAL,
    delivered_at    REAL,
    failed_at       REAL,
    last_error      TEXT,
    created_at      REAL NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_outbox_run ON webhook_outbox (run_id);
