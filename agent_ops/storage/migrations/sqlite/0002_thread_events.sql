-- Events that happen on a thread outside any run (state updates), for its thread stream.
CREATE TABLE thread_events (
    thread_id  TEXT NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
    event_id   TEXT NOT NULL,
    event      TEXT NOT NULL,
    data       BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (thread_id, event_id)
) WITHOUT ROWID;
CREATE INDEX thread_events_order ON thread_events (thread_id, created_at);
