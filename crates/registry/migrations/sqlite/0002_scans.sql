-- Signed filesystem scans (cairn scan push), content-addressed like artifacts.
CREATE TABLE scans (
    digest      TEXT PRIMARY KEY NOT NULL,
    host        TEXT NOT NULL,
    roots       TEXT NOT NULL,      -- JSON array of the scanned roots
    entries     INTEGER NOT NULL,
    errors      INTEGER NOT NULL,
    started     TEXT NOT NULL,      -- from the scan header, RFC 3339
    finished    TEXT NOT NULL,
    size        INTEGER NOT NULL,
    signature   TEXT NOT NULL,
    key_id      TEXT,
    created_ns  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX scans_by_host ON scans (host, created_ns DESC);
