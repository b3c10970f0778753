-- agent-ops schema, version 1 (PostgreSQL): the tables of the SQLite schema with native types.
-- Every resource row carries tenant_id and owner so that governance adds policy, not columns.

CREATE TABLE assistants (
    assistant_id text PRIMARY KEY,
    tenant_id    text NOT NULL DEFAULT 'default',
    owner        text NOT NULL DEFAULT 'system',
    graph_id     text NOT NULL,
    name         text NOT NULL,
    description  text,
    config       jsonb NOT NULL DEFAULT '{}',
    context      jsonb NOT NULL DEFAULT '{}',
    metadata     jsonb NOT NULL DEFAULT '{}',
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistants_graph ON assistants (tenant_id, graph_id);
CREATE INDEX assistants_metadata ON assistants USING gin (metadata jsonb_path_ops);

CREATE TABLE assistant_versions (
    assistant_id text NOT NULL REFERENCES assistants (assistant_id) ON DELETE CASCADE,
    version      integer NOT NULL,
    tenant_id    text NOT NULL DEFAULT 'default',
    owner        text NOT NULL DEFAULT 'system',
    graph_id     text NOT NULL,
    name         text NOT NULL,
    description  text,
    config       jsonb NOT NULL DEFAULT '{}',
    context      jsonb NOT NULL DEFAULT '{}',
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assistant_id, version)
);

CREATE TABLE threads (
    thread_id        text PRIMARY KEY,
    tenant_id        text NOT NULL DEFAULT 'default',
    owner            text NOT NULL DEFAULT 'system',
    status           text NOT NULL DEFAULT 'idle',
    metadata         jsonb NOT NULL DEFAULT '{}',
    "values"         jsonb,
    interrupts       jsonb NOT NULL DEFAULT '{}',
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    state_updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_created ON threads (tenant_id, created_at);
CREATE INDEX threads_metadata ON threads USING gin (metadata jsonb_path_ops);

CREATE TABLE runs (
    run_id             text PRIMARY KEY,
    thread_id          text NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
    assistant_id       text NOT NULL,
    tenant_id          text NOT NULL DEFAULT 'default',
    owner              text NOT NULL DEFAULT 'system',
    status             text NOT NULL DEFAULT 'pending',
    metadata           jsonb NOT NULL DEFAULT '{}',
    kwargs             jsonb NOT NULL DEFAULT '{}',
    multitask_strategy text NOT NULL DEFAULT 'reject',
    stateless          boolean NOT NULL DEFAULT false,
    attempt            integer NOT NULL DEFAULT 0,
    worker_id          text,
    lease_expires_at   timestamptz,
    cancel_action      text,
    error              text,
    output             jsonb,  -- what runs/wait answers: final values (+ __interrupt__ / __error__)
    not_before         timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz
);
-- The claim scans only in-flight runs, oldest first; finished runs stay out of these indexes.
CREATE INDEX runs_queue ON runs (created_at, run_id) WHERE status IN ('pending', 'running');
CREATE INDEX runs_inflight_thread ON runs (thread_id, created_at, run_id)
    WHERE status IN ('pending', 'running');
CREATE INDEX runs_thread ON runs (thread_id, created_at);
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE run_events (
    run_id text NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq    integer NOT NULL,
    event  text NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE store_items (
    tenant_id   text NOT NULL DEFAULT 'default',
    owner       text NOT NULL DEFAULT 'system',
    namespace   text[] NOT NULL,
    key         text NOT NULL,
    value       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    ttl_seconds double precision,
    PRIMARY KEY (tenant_id, namespace, key)
);
CREATE INDEX store_items_expires ON store_items (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE crons (
    cron_id       text PRIMARY KEY,
    tenant_id     text NOT NULL DEFAULT 'default',
    owner         text NOT NULL DEFAULT 'system',
    assistant_id  text NOT NULL,
    thread_id     text REFERENCES threads (thread_id) ON DELETE CASCADE,
    schedule      text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    metadata      jsonb NOT NULL DEFAULT '{}',
    next_run_date timestamptz,
    end_time      timestamptz,
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crons_due ON crons (next_run_date) WHERE enabled;

CREATE TABLE workers (
    worker_id    text PRIMARY KEY,
    hostname     text NOT NULL,
    pid          integer NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
