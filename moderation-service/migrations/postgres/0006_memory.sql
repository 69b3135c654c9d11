-- Memory of each forum's recent posts, for waves: the fingerprint of each
-- submitted post with its LSH band keys, and the traces it carried
-- (registrable domains, crypto addresses, and messenger handles and phone
-- numbers as keyed hashes: never as written). Bounded in time by the
-- retention sweep; an author's rows are erased on request.
CREATE TABLE memory_posts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    forum       TEXT NOT NULL,
    post_id     TEXT NOT NULL,
    author      TEXT NOT NULL,
    new_account BOOLEAN NOT NULL,
    at          BIGINT NOT NULL,
    print       BYTEA
);
CREATE INDEX memory_posts_at ON memory_posts (at);
CREATE INDEX memory_posts_author ON memory_posts (forum, author, at);

CREATE TABLE memory_bands (
    forum   TEXT NOT NULL,
    band    BIGINT NOT NULL,
    post    BIGINT NOT NULL REFERENCES memory_posts (id) ON DELETE CASCADE,
    at      BIGINT NOT NULL
);
CREATE INDEX memory_bands_lookup ON memory_bands (forum, band, at);
CREATE INDEX memory_bands_post ON memory_bands (post);

CREATE TABLE memory_traces (
    forum   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL,
    post    BIGINT NOT NULL REFERENCES memory_posts (id) ON DELETE CASCADE,
    at      BIGINT NOT NULL
);
CREATE INDEX memory_traces_lookup ON memory_traces (forum, kind, value, at);
CREATE INDEX memory_traces_post ON memory_traces (post);

-- The key of the handle and phone hashes, made once and shared by every
-- instance of the database.
CREATE TABLE memory_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT NOT NULL
);
