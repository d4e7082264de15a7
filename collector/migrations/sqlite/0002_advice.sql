-- The advisor's recommendations, their history, and the latest headroom
-- per resource. A recommendation's id is stable for its (kind, key), so the
-- same advice seen again is the same row.
CREATE TABLE recommendations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    action TEXT NOT NULL,
    evidence TEXT NOT NULL,
    confidence REAL NOT NULL,
    state TEXT NOT NULL,
    snoozed_until_ms INTEGER,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    resolved_ms INTEGER,
    seen_passes INTEGER NOT NULL,
    missed_passes INTEGER NOT NULL
);
CREATE INDEX recommendations_state ON recommendations (state);

CREATE TABLE recommendation_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recommendation_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX recommendation_events_by_recommendation ON recommendation_events (recommendation_id, at_ms);

CREATE TABLE headroom (
    resource TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
