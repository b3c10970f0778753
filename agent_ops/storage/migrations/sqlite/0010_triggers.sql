-- agent-ops schema, version 10 (SQLite): the trigger layer. A trigger is a tenant's stored way
-- of starting runs of one assistant (cron, webhook, e-mail, folder, SQL threshold). `next_due`
-- is claimed with a conditional UPDATE (writers are serialised anyway); `trigger_events` is the
-- idempotency ledger; `trigger_observations` keeps the values a SQL threshold saw.

CREATE TABLE triggers (
    trigger_id         TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL DEFAULT 'default',
    owner              TEXT NOT NULL DEFAULT 'system',
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    assistant_id       TEXT NOT NULL,
    enabled            INTEGER NOT NULL DEFAULT 1,
    spec               TEXT NOT NULL DEFAULT '{}',
    input_mapping      TEXT,
    business_key       TEXT,
    multitask_strategy TEXT NOT NULL DEFAULT 'enqueue',
    secret             TEXT,
    state              TEXT NOT NULL DEFAULT '{}',
    state_version      INTEGER NOT NULL DEFAULT 0,
    next_due           REAL,
    last_fired_at      REAL,
    last_error         TEXT,
    last_error_at      REAL,
    created_at         REAL NOT NULL,
    updated_at         REAL NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX triggers_due ON triggers (next_due) WHERE enabled AND next_due IS NOT NULL;

CREATE TABLE trigger_events (
    trigger_id TEXT NOT NULL REFERENCES triggers (trigger_id) ON DELETE CASCADE,
    event_key  TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (trigger_id, event_key)
);

CREATE TABLE trigger_observations (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger_id  TEXT NOT NULL REFERENCES triggers (trigger_id) ON DELETE CASCADE,
    observed_at REAL NOT NULL,
    value       TEXT,
    row_count   INTEGER NOT NULL,
    fired       INTEGER NOT NULL
);
CREATE INDEX trigger_observations_trigger ON trigger_observations (trigger_id, seq);
