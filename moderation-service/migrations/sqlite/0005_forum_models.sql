-- Forum models: a base model adapted to one forum's moderator decisions by
-- the learner. The bytes are the model file (weights and hashed n-grams,
-- never post text) with their SHA-256; at most one model per forum is
-- `live`; a `candidate` scores live traffic in shadow until promoted; a
-- `rejected` one was worse than the live model; a `retired` one was live.
CREATE TABLE forum_models (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    forum       TEXT NOT NULL,
    version     TEXT NOT NULL,
    base        TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    sha256      TEXT NOT NULL,
    labels      BIGINT NOT NULL,
    evaluation  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('candidate', 'live', 'retired', 'rejected')),
    reason      TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    promoted_at BIGINT,
    promoted_by TEXT
);
CREATE INDEX forum_models_forum ON forum_models (forum, id);
CREATE UNIQUE INDEX forum_models_one_live ON forum_models (forum) WHERE status = 'live';

-- Bumped by every promotion and rollback; every instance polls it and
-- loads the live models (and shadow candidates) when it moves.
CREATE TABLE models_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO models_version (id, version) VALUES (1, 0);

-- A forum's past moderation imported as labels (secrets starred out), so a
-- forum's model does not start from zero. Decisions made in the queue are
-- read from `items` and are not copied here.
CREATE TABLE imported_labels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    forum       TEXT NOT NULL,
    post_id     TEXT NOT NULL,
    post        TEXT NOT NULL,
    spam        BIGINT,
    scam        BIGINT,
    decided_by  TEXT,
    decided_at  BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    UNIQUE (forum, post_id)
);
CREATE INDEX imported_labels_order ON imported_labels (forum, decided_at, id);

-- What a candidate would have decided on live traffic, beside the live
-- verdict stored in `items`.
CREATE TABLE shadow_verdicts (
    model_id   BIGINT NOT NULL,
    item_id    BIGINT NOT NULL,
    decision   TEXT NOT NULL,
    live       TEXT NOT NULL,
    category   TEXT NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (model_id, item_id)
);

-- The learner's bookkeeping per forum: labels seen at its last run, when,
-- what came of it, and a lease so one instance trains a forum at a time.
CREATE TABLE learner_runs (
    forum       TEXT PRIMARY KEY,
    labels_seen BIGINT NOT NULL DEFAULT 0,
    last_run_at BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);

-- Promotions and rollbacks are audited beside item changes (item_id 0).
ALTER TABLE audit_log ADD COLUMN model_id BIGINT;
