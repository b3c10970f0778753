-- agent-ops schema, version 9 (SQLite): the audit trail. One row per governed action, in one
-- hash chain per tenant: `hash` is SHA-256 over the row's fields and `prev_hash` (the hash of the
-- tenant's previous row), so changing, removing or reordering a row breaks every hash after it
-- (`agent-ops audit verify`). Writers are serialised by SQLite's write lock (BEGIN IMMEDIATE),
-- so sequence numbers are distinct and gapless. `at` and `detail` are the exact hashed text.

CREATE TABLE audit_log (
    tenant_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    at            TEXT NOT NULL,        -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ (sorts as time)
    actor         TEXT NOT NULL,        -- the caller's subject, `anonymous`, `system` or `cli:<user>`
    actor_role    TEXT,
    via           TEXT,                 -- key, oidc, handler, cron, run, cli
    action        TEXT NOT NULL,        -- e.g. run.create, run.resume, thread.delete, auth.failed
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    outcome       TEXT NOT NULL,        -- ok, denied
    digest        TEXT,                 -- SHA-256 of the request's or decision's payload
    detail        TEXT NOT NULL,        -- canonical JSON: what a reader needs (decision, reason)
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);
CREATE INDEX audit_log_at ON audit_log (at);

-- Append-only: the application never changes or removes a record; anything changed around these
-- triggers fails `audit verify`.
-- (Each trigger is one line: migrations are split into statements at ";" + newline.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
