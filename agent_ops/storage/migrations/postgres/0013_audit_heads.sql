-- Each tenant's chain head: the seq and hash of its newest audit row. An append locks and reads
-- it in one statement (INSERT .. ON CONFLICT DO UPDATE waits for a concurrent appender and sees
-- its committed head), then writes the row and the new head in one more, inside the action's
-- own transaction. Only the append path writes audit_log, and it always moves the head with it.
CREATE TABLE audit_heads (
    tenant_id text PRIMARY KEY,
    seq bigint NOT NULL,
    hash text NOT NULL
);

INSERT INTO audit_heads (tenant_id, seq, hash)
SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash
FROM audit_log
ORDER BY tenant_id, seq DESC;
