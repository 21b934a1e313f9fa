-- The shared transparency log of instances that share this database.
-- An entry is sequenced (given its index) in the same transaction as the index change it
-- records; the leader (the holder of an advisory lock) integrates sequenced entries into
-- tiles and publishes a checkpoint by a compare-and-swap on log_head.
CREATE TABLE log_entries (
    idx   BIGINT PRIMARY KEY,
    data  BYTEA NOT NULL
);

-- Next index to hand out. One row, locked for the length of a sequencing transaction.
CREATE TABLE log_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    next  BIGINT NOT NULL
);
INSERT INTO log_seq (id, next) VALUES (1, 0);

-- The published checkpoint and the log's verifier key (every instance must sign with it).
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    size        BIGINT NOT NULL,
    checkpoint  TEXT NOT NULL,
    verifier    TEXT NOT NULL
);
INSERT INTO log_head (id, size, checkpoint, verifier) VALUES (1, 0, '', '');
