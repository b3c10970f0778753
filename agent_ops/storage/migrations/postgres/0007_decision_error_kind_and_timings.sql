-- agent-ops schema, version 7 (PostgreSQL): why a model attempt failed, as one word ('queue_timeout',
-- 'generation_timeout', 'connection_refused', 'server_died', 'http_status', 'invalid_json',
-- 'schema_invalid', 'empty_answer', 'error'; `error` keeps the detail), and its time split into
-- waiting for a turn at the model and generating. NULL on decisions logged before these existed,
-- and error_kind NULL on attempts that answered.

ALTER TABLE model_decisions ADD COLUMN error_kind TEXT;
ALTER TABLE model_decisions ADD COLUMN queue_ms DOUBLE PRECISION;
ALTER TABLE model_decisions ADD COLUMN generation_ms DOUBLE PRECISION;
