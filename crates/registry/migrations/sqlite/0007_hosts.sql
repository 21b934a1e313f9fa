-- Hosts that submit scans (cairn admin host add): each with the key its scans must verify
-- under and the SHA-256 of its own token, which can submit scans of that host only.
CREATE TABLE hosts (
    name          TEXT PRIMARY KEY NOT NULL,
    key_pem       TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,       -- looked up on every scan upload
    created_ns    INTEGER NOT NULL,
    log_index     INTEGER,
    baseline      TEXT,                       -- SHA-256 of the scan arriving scans are compared with
    baseline_log_index INTEGER
) WITHOUT ROWID;

-- The registry's analysis of each scan (JSON, as its log entry records it); NULL for scans
-- stored before analysis existed.
ALTER TABLE scans ADD COLUMN report TEXT;
ALTER TABLE scans ADD COLUMN anomalies INTEGER NOT NULL DEFAULT 0;
