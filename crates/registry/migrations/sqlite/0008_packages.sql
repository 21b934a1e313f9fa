-- Packages of any kind with detached signatures (POST /packages): one row per name and
-- version, the bytes content-addressed among the other blobs.
CREATE TABLE packages (
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    version_key   TEXT NOT NULL,              -- sorts as semver precedence (newest last)
    file          TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    digest        TEXT NOT NULL,              -- SHA-256 of the bytes
    size          INTEGER NOT NULL,
    signatures    TEXT NOT NULL,              -- JSON array of {kind, signature, key_id}
    created_ns    INTEGER NOT NULL,
    log_index     INTEGER,
    PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE INDEX packages_by_version ON packages (name, version_key);
-- Whether any package still holds a blob (a delete keeps the bytes another row serves).
CREATE INDEX packages_by_digest ON packages (digest);
