-- agent-ops schema, version 10 (PostgreSQL): the trigger layer. A trigger is a tenant's stored
-- way of starting runs of one assistant (cron, webhook, e-mail, folder, SQL threshold).
-- `next_due` is claimed with a conditional UPDATE, so with any number of processes each due
-- firing is handed to one; `trigger_events` is the idempotency ledger (a redelivered webhook or
-- a firing claimed twice finds its row and starts nothing); `trigger_observations` keeps the
-- values a SQL threshold saw, for the audit trail.

CREATE TABLE triggers (
    trigger_id         text PRIMARY KEY,
    tenant_id          text NOT NULL DEFAULT 'default',
    owner              text NOT NULL DEFAULT 'system',
    name               text NOT NULL,
    kind               text NOT NULL,
    assistant_id       text NOT NULL,
    enabled            boolean NOT NULL DEFAULT true,
    spec               jsonb NOT NULL DEFAULT '{}',   -- the kind's settings (schedule, query, ...)
    input_mapping      jsonb,                         -- run input field -> JSON path or literal
    business_key       text,                          -- template naming the thread fed
    multitask_strategy text NOT NULL DEFAULT 'enqueue',
    secret             text,                          -- a webhook's signing secret (whsec_...)
    state              jsonb NOT NULL DEFAULT '{}',   -- a threshold's armed flag and last value
    state_version      bigint NOT NULL DEFAULT 0,
    next_due           timestamptz,
    last_fired_at      timestamptz,
    last_error         text,
    last_error_at      timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX triggers_due ON triggers (next_due) WHERE enabled AND next_due IS NOT NULL;

CREATE TABLE trigger_events (
    trigger_id text NOT NULL REFERENCES triggers (trigger_id) ON DELETE CASCADE,
    event_key  text NOT NULL,   -- webhook id, idempotency key, or the due time of a firing
    run_id     text NOT NULL,
    thread_id  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trigger_id, event_key)
);

CREATE TABLE trigger_observations (
    seq         bigserial PRIMARY KEY,
    trigger_id  text NOT NULL REFERENCES triggers (trigger_id) ON DELETE CASCADE,
    observed_at timestamptz NOT NULL DEFAULT now(),
    value       jsonb,
    row_count   integer NOT NULL,
    fired       boolean NOT NULL
);
CREATE INDEX trigger_observations_trigger ON trigger_observations (trigger_id, seq);
