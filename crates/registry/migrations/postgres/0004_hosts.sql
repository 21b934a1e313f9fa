-- Hosts and scan reports: the same tables as the SQLite migration 0007.
CREATE TABLE hosts (
    name          TEXT PRIMARY KEY NOT NULL,
    key_pem       TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_ns    BIGINT NOT NULL,
    log_index     BIGINT,
    baseline      TEXT,
    baseline_log_index BIGINT
);

ALTER TABLE scans ADD COLUMN report TEXT;
ALTER TABLE scans ADD COLUMN anomalies BIGINT NOT NULL DEFAULT 0;
