-- agent-ops schema, version 2 (SQLite): the decision log of model calls, queried per run.
-- No foreign key to runs: the log is part of the audit trail and outlives deleted runs.

CREATE TABLE model_decisions (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id    TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL DEFAULT 'default',
    run_id         TEXT,
    thread_id      TEXT,
    role           TEXT NOT NULL,
    provider       TEXT NOT NULL,
    model          TEXT NOT NULL,
    prompt_name    TEXT,
    prompt_version TEXT,
    input_hash     TEXT NOT NULL,
    output         TEXT,
    error          TEXT,
    latency_ms     REAL NOT NULL,
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_usd       REAL NOT NULL DEFAULT 0,
    created_at     REAL NOT NULL
);
CREATE INDEX model_decisions_run ON model_decisions (run_id, seq);
CREATE INDEX model_decisions_thread ON model_decisions (thread_id, seq);
