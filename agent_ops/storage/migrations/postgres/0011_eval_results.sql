-- agent-ops schema, version 11 (PostgreSQL): offline evaluation results. One row per experiment
-- (`agent-ops eval run`: its suite, how it was run, its metrics once scored) and one per case
-- run (outputs, expected, scores, latency, tokens, cost, error), written as the run goes so a
-- crashed experiment still shows the cases it finished. The results folder holds the same.

CREATE TABLE eval_experiments (
    experiment_id text PRIMARY KEY,
    tenant_id     text NOT NULL DEFAULT 'default',
    suite         text NOT NULL,
    settings      jsonb NOT NULL,               -- graph, dataset, roles, prompts, overrides, ...
    metrics       jsonb,                        -- NULL until the experiment is scored
    cases         integer NOT NULL DEFAULT 0,   -- case runs recorded
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX eval_experiments_recent ON eval_experiments (tenant_id, created_at);

CREATE TABLE eval_cases (
    experiment_id text NOT NULL REFERENCES eval_experiments (experiment_id) ON DELETE CASCADE,
    case_id       text NOT NULL,
    repeat        integer NOT NULL DEFAULT 0,
    status        text NOT NULL,
    outputs       jsonb,
    expected      jsonb NOT NULL,
    scores        jsonb NOT NULL DEFAULT '{}',
    latency_ms    double precision NOT NULL,
    input_tokens  integer NOT NULL DEFAULT 0,
    output_tokens integer NOT NULL DEFAULT 0,
    cost_usd      double precision NOT NULL DEFAULT 0,
    error         text,
    run_id        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, case_id, repeat)
);
