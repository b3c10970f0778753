-- agent-ops schema, version 9 (PostgreSQL): the audit trail. One row per governed action, in one
-- hash chain per tenant: `hash` is SHA-256 over the row's fields and `prev_hash` (the hash of the
-- tenant's previous row), so changing, removing or reordering a row breaks every hash after it
-- (`agent-ops audit verify`). Rows are appended under an advisory lock on the tenant, so
-- concurrent writers take distinct, gapless sequence numbers. `at` and `detail` are kept as the
-- exact text that was hashed (canonical JSON), so no type's normalisation can change them.

CREATE TABLE audit_log (
    tenant_id     text NOT NULL,
    seq           bigint NOT NULL,
    at            text NOT NULL,        -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ (sorts as time)
    actor         text NOT NULL,        -- the caller's subject, `anonymous`, `system` or `cli:<user>`
    actor_role    text,
    via           text,                 -- key, oidc, handler, cron, run, cli
    action        text NOT NULL,        -- e.g. run.create, run.resume, thread.delete, auth.failed
    resource_type text NOT NULL,
    resource_id   text,
    outcome       text NOT NULL,        -- ok, denied
    digest        text,                 -- SHA-256 of the request's or decision's payload
    detail        text NOT NULL,        -- canonical JSON: what a reader needs (decision, reason)
    prev_hash     text NOT NULL,
    hash          text NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);
CREATE INDEX audit_log_at ON audit_log (at);

-- Append-only: the application never changes or removes a record. Only the table's owner can
-- switch the trigger off, and anything changed with it off fails `audit verify`.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
