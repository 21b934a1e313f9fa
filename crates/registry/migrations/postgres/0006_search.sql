-- The log's search index and published trust policies: the same tables as the SQLite
-- migration 0009.
CREATE TABLE search (
    key        BIGINT NOT NULL,
    log_index  BIGINT NOT NULL,
    tag        SMALLINT NOT NULL,
    PRIMARY KEY (key, log_index)
);

CREATE TABLE policies (
    version    BIGINT PRIMARY KEY,
    digest     TEXT NOT NULL,
    text       TEXT NOT NULL,
    roots      TEXT NOT NULL,
    created_ns BIGINT NOT NULL,
    log_index  BIGINT NOT NULL
);

-- As in SQLite's 0009: a row until the search table is built from the whole log (a shared
-- log that holds entries, or an embedded-style replay point past the start).
CREATE TABLE search_pending (id INTEGER PRIMARY KEY CHECK (id = 1));
INSERT INTO search_pending (id)
    SELECT 1 WHERE EXISTS (SELECT 1 FROM log_seq WHERE next > 0)
                OR EXISTS (SELECT 1 FROM log_state WHERE applied > 0);
