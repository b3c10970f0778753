-- Events that happen on a thread outside any run (state updates), for its thread stream.
CREATE TABLE thread_events (
    thread_id  text NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
    event_id   text NOT NULL,
    event      text NOT NULL,
    data       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, event_id)
);
CREATE INDEX thread_events_order ON thread_events (thread_id, created_at);
