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
    confidence DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL,
    snoozed_until_ms BIGINT,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    resolved_ms BIGINT,
    seen_passes BIGINT NOT NULL,
    missed_passes BIGINT NOT NULL
);
CREATE INDEX recommendations_state ON recommendations (state);

CREATE TABLE recommendation_events (
    id BIGSERIAL PRIMARY KEY,
    recommendation_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX recommendation_events_by_recommendation ON recommendation_events (recommendation_id, at_ms);

CREATE TABLE headroom (
    resource TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
