-- Campaigns: waves of near-duplicate posts from several accounts, formed
-- at submit from memory, decided as one. A post belongs to at most one
-- campaign. `version` grows whenever a member joins or the status changes,
-- so a decision made on what a moderator saw can be refused when it moved.
CREATE TABLE campaigns (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    forum       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    version     BIGINT NOT NULL DEFAULT 1,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    decided_by  TEXT,
    decided_at  BIGINT,
    reason      TEXT
);
CREATE INDEX campaigns_recent ON campaigns (forum, last_seen);

CREATE TABLE campaign_members (
    forum     TEXT NOT NULL,
    post_id   TEXT NOT NULL,
    campaign  BIGINT NOT NULL REFERENCES campaigns (id),
    author    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    held      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (forum, post_id)
);
CREATE INDEX campaign_members_campaign ON campaign_members (campaign, at);
