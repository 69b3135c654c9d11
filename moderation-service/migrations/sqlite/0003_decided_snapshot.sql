-- What a moderator decided on: the post as it was at the decision and the
-- version the decision made. The export labels this snapshot, so an edit
-- after the decision can never carry the decision's label onto new text.
ALTER TABLE items ADD COLUMN decided_post TEXT;
ALTER TABLE items ADD COLUMN decided_version BIGINT;
