-- agent-ops schema, version 1 (SQLite). Times are UNIX epoch seconds (REAL), JSON is TEXT.
-- Every resource row carries tenant_id and owner so that governance adds policy, not columns.

CREATE TABLE assistants (
    assistant_id TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL DEFAULT 'default',
    owner        TEXT NOT NULL DEFAULT 'system',
    graph_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    config       TEXT NOT NULL DEFAULT '{}',
    context      TEXT NOT NULL DEFAULT '{}',
    metadata     TEXT NOT NULL DEFAULT '{}',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX assistants_graph ON assistants (tenant_id, graph_id);

CREATE TABLE assistant_versions (
    assistant_id TEXT NOT NULL REFERENCES assistants (assistant_id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    tenant_id    TEXT NOT NULL DEFAULT 'default',
    owner        TEXT NOT NULL DEFAULT 'system',
    graph_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    config       TEXT NOT NULL DEFAULT '{}',
    context      TEXT NOT NULL DEFAULT '{}',
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   REAL NOT NULL,
    PRIMARY KEY (assistant_id, version)
);

CREATE TABLE threads (
    thread_id        TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL DEFAULT 'default',
    owner            TEXT NOT NULL DEFAULT 'system',
    status           TEXT NOT NULL DEFAULT 'idle',
    metadata         TEXT NOT NULL DEFAULT '{}',
    "values"         TEXT,
    interrupts       TEXT NOT NULL DEFAULT '{}',
    error            TEXT,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    state_updated_at REAL NOT NULL
);
CREATE INDEX threads_created ON threads (tenant_id, created_at);

CREATE TABLE runs (
    run_id             TEXT PRIMARY KEY,
    thread_id          TEXT NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
    assistant_id       TEXT NOT NULL,
    tenant_id          TEXT NOT NULL DEFAULT 'default',
    owner              TEXT NOT NULL DEFAULT 'system',
    status             TEXT NOT NULL DEFAULT 'pending',
    metadata           TEXT NOT NULL DEFAULT '{}',
    kwargs             TEXT NOT NULL DEFAULT '{}',
    multitask_strategy TEXT NOT NULL DEFAULT 'reject',
    stateless          INTEGER NOT NULL DEFAULT 0,
    attempt            INTEGER NOT NULL DEFAULT 0,
    worker_id          TEXT,
    lease_expires_at   REAL,
    cancel_action      TEXT,
    error              TEXT,
    output             TEXT,     -- what runs/wait answers: final values (+ __interrupt__ / __error__)
    not_before         REAL NOT NULL,
    created_at         REAL NOT NULL,
    updated_at         REAL NOT NULL,
    finished_at        REAL
);
CREATE INDEX runs_queue ON runs (status, not_before, created_at);
CREATE INDEX runs_thread ON runs (thread_id, created_at);

CREATE TABLE run_events (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    event  TEXT NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE store_items (
    tenant_id  TEXT NOT NULL DEFAULT 'default',
    owner      TEXT NOT NULL DEFAULT 'system',
    namespace  TEXT NOT NULL,  -- labels joined by U+001F
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL,
    ttl_seconds REAL,
    PRIMARY KEY (tenant_id, namespace, key)
);

CREATE TABLE crons (
    cron_id       TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL DEFAULT 'default',
    owner         TEXT NOT NULL DEFAULT 'system',
    assistant_id  TEXT NOT NULL,
    thread_id     TEXT REFERENCES threads (thread_id) ON DELETE CASCADE,
    schedule      TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT '{}',
    metadata      TEXT NOT NULL DEFAULT '{}',
    next_run_date REAL,
    end_time      REAL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE INDEX crons_due ON crons (enabled, next_run_date);

CREATE TABLE workers (
    worker_id    TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   REAL NOT NULL,
    heartbeat_at REAL NOT NULL
);
