-- The log's search index (GET /log/search), a projection of the log like every other table:
-- one row per key an entry is found by (cairn_api::search_keys). `key` is the first 8 bytes
-- of SHA-256("<key kind>\0<value>") as a signed integer: 8 bytes whatever the value, and a
-- hit is always checked against the entry itself, so a collision costs a read, never a
-- wrong answer. `tag` is the entry's kind (a deletion is found without reading entries).
CREATE TABLE search (
    key        INTEGER NOT NULL,
    log_index  INTEGER NOT NULL,
    tag        INTEGER NOT NULL,
    PRIMARY KEY (key, log_index)
) WITHOUT ROWID;

-- Trust policies a registry operator published (POST /policies), by version.
CREATE TABLE policies (
    version    INTEGER PRIMARY KEY,
    digest     TEXT NOT NULL,
    text       TEXT NOT NULL,
    roots      TEXT NOT NULL,              -- JSON array of the signing roots' key ids
    created_ns INTEGER NOT NULL,
    log_index  INTEGER NOT NULL
);

-- An index made before the search index existed holds entries the table lacks: a row here
-- until the registry has built the table from the whole log (in the transaction that does).
CREATE TABLE search_pending (id INTEGER PRIMARY KEY CHECK (id = 1));
INSERT INTO search_pending (id) SELECT 1 FROM log_state WHERE applied > 0;
