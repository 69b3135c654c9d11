-- Each instance keeps its forums' recent posts in an index in its own
-- process, fed by its submissions at once and by the other instances'
-- through memory_posts (read in id order, tagged with the instance that
-- wrote them). Band keys are derived from the stored fingerprint, so the
-- per-band rows are no longer kept. An author's erasure is recorded for the
-- other instances to apply to their indexes.
ALTER TABLE memory_posts ADD COLUMN instance TEXT NOT NULL DEFAULT '';
DROP TABLE memory_bands;
CREATE TABLE memory_erasures (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    forum   TEXT NOT NULL,
    author  TEXT NOT NULL,
    at      BIGINT NOT NULL
);
