-- agent-ops schema, version 8 (SQLite): API keys. A key is `aok_<key_id>_<secret>`; only an
-- HMAC-SHA256 of the whole key under the server secret (AGENT_OPS_AUTH_SECRET) is kept, so the
-- table alone cannot be used to call the API. Looked up by key_id, then compared in constant
-- time. Revoked keys stay (revoked_at set) so `keys list` tells what existed and when it ended.

CREATE TABLE api_keys (
    key_id     TEXT PRIMARY KEY,
    name       TEXT,
    tenant_id  TEXT NOT NULL,
    role       TEXT NOT NULL,
    digest     TEXT NOT NULL,   -- hex HMAC-SHA256 of the whole key
    created_at REAL NOT NULL,
    expires_at REAL,            -- none: the key does not expire
    revoked_at REAL
);
