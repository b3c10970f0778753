-- agent-ops schema, version 11 (SQLite): offline evaluation results. One row per experiment
-- (`agent-ops eval run`: its suite, how it was run, its metrics once scored) and one per case
-- run (outputs, expected, scores, latency, tokens, cost, error), written as the run goes so a
-- crashed experiment still shows the cases it finished. The results folder holds the same.

CREATE TABLE eval_experiments (
    experiment_id TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL DEFAULT 'default',
    suite         TEXT NOT NULL,
    settings      TEXT NOT NULL,              -- graph, dataset, roles, prompts, overrides, ...
    metrics       TEXT,                       -- NULL until the experiment is scored
    cases         INTEGER NOT NULL DEFAULT 0, -- case runs recorded
    created_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX eval_experiments_recent ON eval_experiments (tenant_id, created_at);

CREATE TABLE eval_cases (
    experiment_id TEXT NOT NULL REFERENCES eval_experiments (experiment_id) ON DELETE CASCADE,
    case_id       TEXT NOT NULL,
    repeat        INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    outputs       TEXT,
    expected      TEXT NOT NULL,
    scores        TEXT NOT NULL DEFAULT '{}',
    latency_ms    REAL NOT NULL,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    error         TEXT,
    run_id        TEXT,
    created_at    REAL NOT NULL,
    PRIMARY KEY (experiment_id, case_id, repeat)
);
