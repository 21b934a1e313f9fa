-- Which transparency-log entry published each artifact.
ALTER TABLE artifacts ADD COLUMN log_index INTEGER;
-- Every log entry below `applied` is reflected in this index; start-up replays from there.
CREATE TABLE log_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    applied INTEGER NOT NULL
);
INSERT INTO log_state (id, applied) VALUES (1, 0);
