-- The hash each chain head moved from: an append locks, moves and reads the head in one upsert
-- (the row's hash computed in SQL), and RETURNING shows only the new values, so the head keeps
-- the previous row's hash for the new row's prev_hash. NULL until the head first moves.
ALTER TABLE audit_heads ADD COLUMN prev_hash text;
