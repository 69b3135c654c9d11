-- Account actions: what moderators did to a forum's authors (silence,
-- suspend until a time, ban, lift) and the standing it left. The forum
-- enforces the standing; the service records it, shows it and sends it in
-- an `account` webhook. An account's webhooks ride on the outbox with
-- item_id = -(account id), so they are delivered in the account's version
-- order, as an item's decisions are.
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    forum       TEXT NOT NULL,
    author      TEXT NOT NULL,
    standing    TEXT NOT NULL CHECK (standing IN ('good', 'silenced', 'suspended', 'banned')),
    until       BIGINT,
    version     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (forum, author)
);

CREATE TABLE account_actions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account         BIGINT NOT NULL REFERENCES accounts (id),
    action          TEXT NOT NULL CHECK (action IN ('silence', 'suspend', 'ban', 'lift')),
    duration_hours  BIGINT,
    until           BIGINT,
    from_standing   TEXT NOT NULL,
    to_standing     TEXT NOT NULL,
    remove_pending  BOOLEAN NOT NULL,
    reason          TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    actor           TEXT NOT NULL,
    item_id         BIGINT,
    campaign        BIGINT,
    version         BIGINT NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX account_actions_account ON account_actions (account, id);

-- Audit entries of account actions name the account (item_id is the
-- decided item, or 0 for an action taken on the author page).
ALTER TABLE audit_log ADD COLUMN account_id BIGINT;
CREATE INDEX audit_account ON audit_log (account_id, id) WHERE account_id IS NOT NULL;
