-- agent-ops schema, version 6 (SQLite): who gave a decision's token numbers: 'provider' (the
-- endpoint reported usage), 'counted' (agent-ops counted them with the model's own tokenizer) or
-- 'none'. NULL on decisions logged before the column existed.

ALTER TABLE model_decisions ADD COLUMN token_source TEXT;
