-- Semantic index: the item's field embeddings, float32, unit length, concatenated (NULL: not indexed).
ALTER TABLE store_items ADD COLUMN vectors bytea;
