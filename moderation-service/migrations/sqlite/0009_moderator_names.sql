-- Moderators' display names (shown in claims, the audit log, item logs and
-- pages; in webhooks only when configured) and an optional contact, shown
-- to admins only. Keys made before this have neither ('').
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN contact TEXT NOT NULL DEFAULT '';
CREATE INDEX api_keys_name ON api_keys (name);
