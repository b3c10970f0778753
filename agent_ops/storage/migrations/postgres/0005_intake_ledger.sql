-- agent-ops schema, version 5 (PostgreSQL): the intake ledger. One row per item a trigger took
-- in (an e-mail, a file), written in the transaction that queues its run: the primary key makes
-- each item start exactly one run however many pollers see it. No foreign key to runs: the
-- ledger outlives deleted runs, so an item is never taken in twice.

CREATE TABLE intake_items (
    source       text NOT NULL,   -- the trigger: `mail`, `folder:<name>`
    item_key     text NOT NULL,   -- mailbox/uidvalidity/uid, or the file's sha256
    tenant_id    text NOT NULL DEFAULT 'default',
    origin       text,            -- which copy of the item was taken in (a file's claim token)
    summary      jsonb NOT NULL DEFAULT '{}',
    run_id       text NOT NULL,
    thread_id    text NOT NULL,
    assistant_id text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    settled_at   timestamptz,     -- when the item left its source (mail moved, file to done/)
    PRIMARY KEY (source, item_key)
);
CREATE INDEX intake_items_created ON intake_items (created_at);
