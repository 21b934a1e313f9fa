-- Packages of any kind with detached signatures: the same table as the SQLite migration 0008.
CREATE TABLE packages (
    name          TEXT NOT NULL COLLATE "C",
    version       TEXT NOT NULL,
    version_key   TEXT NOT NULL COLLATE "C",
    file          TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    digest        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    signatures    TEXT NOT NULL,
    created_ns    BIGINT NOT NULL,
    log_index     BIGINT,
    PRIMARY KEY (name, version)
);
CREATE INDEX packages_by_version ON packages (name, version_key);
CREATE INDEX packages_by_digest ON packages (digest);
