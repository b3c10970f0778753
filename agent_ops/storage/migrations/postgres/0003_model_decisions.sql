-- agent-ops schema, version 2 (PostgreSQL): the decision log of model calls, queried per run.
-- No foreign key to runs: the log is part of the audit trail and outlives deleted runs.

CREATE TABLE model_decisions (
    seq            bigserial PRIMARY KEY,
    decision_id    text NOT NULL UNIQUE,
    tenant_id      text NOT NULL DEFAULT 'default',
    run_id         text,
    thread_id      text,
    role           text NOT NULL,
    provider       text NOT NULL,
    model          text NOT NULL,
    prompt_name    text,
    prompt_version text,
    input_hash     text NOT NULL,
    output         jsonb,
    error          text,
    latency_ms     double precision NOT NULL,
    input_tokens   integer NOT NULL DEFAULT 0,
    output_tokens  integer NOT NULL DEFAULT 0,
    cost_usd       double precision NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_decisions_run ON model_decisions (run_id, seq);
CREATE INDEX model_decisions_thread ON model_decisions (thread_id, seq);
