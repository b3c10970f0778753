-- agent-ops schema, version 12 (PostgreSQL): the outbox of outbound webhooks. A run that asked
-- for a webhook gets its message here in the transaction that ends it, so a crash can neither
-- lose one nor send one for an ending that rolled back. Any process delivers: it leases due rows
-- with FOR UPDATE SKIP LOCKED; a lease that lapses (its process died) makes the row due again.
-- No foreign key to runs: a stateless run is deleted soon after it ends, its message is not.

CREATE TABLE webhook_outbox (
    message_id      text PRIMARY KEY,                 -- the `webhook-id` receivers dedupe on
    run_id          text NOT NULL,
    thread_id       text NOT NULL,
    tenant_id       text NOT NULL DEFAULT 'default',
    url             text NOT NULL,
    payload         jsonb NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,       -- counted when an attempt is leased
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    delivered_at    timestamptz,
    failed_at       timestamptz,                      -- given up: attempts used or refused
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_outbox_run ON webhook_outbox (run_id);
