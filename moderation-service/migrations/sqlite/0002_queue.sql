-- One row per post a forum submitted, keyed by (forum, post_id). The post
-- and verdict are stored as JSON with leaked secrets already starred out.
CREATE TABLE items (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    forum            TEXT NOT NULL,
    post_id          TEXT NOT NULL,
    author_id        TEXT,
    post             TEXT NOT NULL,
    verdict          TEXT NOT NULL,
    decision         TEXT NOT NULL CHECK (decision IN ('allow', 'review', 'hold', 'reject')),
    category         TEXT NOT NULL,
    score            DOUBLE PRECISION NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('allowed', 'pending', 'escalated', 'rejected', 'approved', 'removed')),
    report_weight    DOUBLE PRECISION NOT NULL DEFAULT 0,
    report_count     BIGINT NOT NULL DEFAULT 0,
    -- Minus the priority, so the queue order (highest priority first, then
    -- oldest first) is one ascending index and one row-value comparison.
    queue_rank       BIGINT NOT NULL,
    version          BIGINT NOT NULL,
    claimed_by       TEXT,
    claim_expires_at BIGINT,
    reason           TEXT NOT NULL DEFAULT '',
    decided_by       TEXT,
    decided_at       BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (forum, post_id)
);
CREATE INDEX items_queue ON items (status, queue_rank, created_at, id);
CREATE INDEX items_forum_queue ON items (forum, status, queue_rank, created_at, id);
CREATE INDEX items_category_queue ON items (category, status, queue_rank, created_at, id);
CREATE INDEX items_status_age ON items (status, created_at);
CREATE INDEX items_author ON items (forum, author_id);
CREATE INDEX items_decided ON items (decided_at, id) WHERE decided_at IS NOT NULL;

-- Community flags; one per reporter per item.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     BIGINT NOT NULL REFERENCES items (id),
    reporter_id TEXT NOT NULL,
    trust_level BIGINT,
    weight      DOUBLE PRECISION NOT NULL,
    reason      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    UNIQUE (item_id, reporter_id)
);

-- Every change to an item. Append-only: the triggers refuse UPDATE and DELETE.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX audit_item ON audit_log (item_id, id);
CREATE INDEX audit_actor ON audit_log (actor, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Webhook deliveries, written in the same transaction as the decision.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id         BIGINT NOT NULL,
    forum           TEXT NOT NULL,
    version         BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_item ON outbox (item_id, id) WHERE delivered_at IS NULL;

-- Rule layers replaced through the API ('' = every forum), and a version
-- every instance polls to pick up a change.
CREATE TABLE rule_layers (
    forum      TEXT PRIMARY KEY,
    toml       TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE rules_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO rules_version (id, version) VALUES (1, 0);
