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
